/**
 * The rules of docs/replication.md, one scenario script each
 * (test/replication/scenarios/*.txt), and the schedules the simulator found:
 * each script tells a short story and pins what the replicas report at every
 * step. The commands are listed in scenario/interpreter.ts; SCENARIO_REWRITE=1
 * rewrites the expected outputs (read the diff before committing it).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './scenario/datadriven.js';
import { ScenarioCluster } from './scenario/interpreter.js';

const dir = fileURLToPath(new URL('./scenarios', import.meta.url));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

/** docs/replication.md's rules and decisions (only-the-log-waits is the driver's), and the pinned schedules. */
const RULES = [
  'commit',
  'shrink',
  'grow',
  'snapshot-seed-12674',
  'elect',
  'elect-refusals',
  'restart',
  'total-outage',
  'epochs',
  'promise-costs-caught-up',
  'seed-43665',
  'silence',
  'pause-seed-1654',
  'pause-leader',
  'membership-in-sync',
  'membership-majority',
  'removal-self',
  'removal-seed-24384',
  'check-quorum',
  'force-fenced',
  'force-fenced-majority',
  'data-lost',
];

describe('replication rules as scenarios', () => {
  it('has a script for every rule', () => {
    expect(scripts).toEqual(RULES.map((r) => `${r}.txt`).sort());
  });

  it.each(scripts)('%s', (name) => {
    const cluster = new ScenarioCluster();
    const mismatches = runScript(join(dir, name), (command) => cluster.run(command));
    const report = mismatches.map(
      ({ step, actual }) =>
        `${name}:${step.line}: ${step.command}\n--- expected\n${step.expected}\n--- printed\n${actual}`,
    );
    expect(report.join('\n\n')).toBe('');
  });
});
