/**
 * Reading a replica's metrics listener in tests: where it listens (its
 * metrics.listening log line), a scrape, promtool's verdict on the text, and
 * sample values.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { waitUntil } from '../support/cluster.js';

/** The address a replica's metrics listener bound, from the `metrics.listening` line of its log. */
export async function metricsAddress(logFile: string): Promise<string> {
  return waitUntil(`the metrics listener in ${logFile}`, 15_000, () => {
    let text = '';
    try {
      text = readFileSync(logFile, 'utf8');
    } catch {
      return undefined;
    }
    const line = text
      .split('\n')
      .reverse()
      .find((l) => l.includes('"event":"metrics.listening"'));
    return line ? (JSON.parse(line) as { address: string }).address : undefined;
  });
}

export async function get(address: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/**
 * prom-client's own default metrics that promtool's linter names (gauges whose
 * names end in _total); anything else it reports is ours and a failure.
 */
export const PROM_CLIENT_LINT = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Runs promtool (Debian's prometheus package; .ci/run installs it); fails, saying so, where it cannot be run. */
export function promtool(args: string[], o: { input?: string; cwd?: string } = {}): SpawnSyncReturns<string> {
  const run = spawnSync('promtool', args, { ...o, encoding: 'utf8', timeout: 20_000 });
  if (run.error) throw new Error(`promtool is needed for this test (apt-get install prometheus): ${run.error.message}`);
  return run;
}

/** promtool check metrics: exit 0 or 3 (lint findings), and the findings. */
export function promtoolCheckMetrics(text: string): { parsed: boolean; findings: string[]; output: string } {
  const run = promtool(['check', 'metrics'], { input: text });
  const output = `${run.stdout}${run.stderr}`;
  const findings = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return { parsed: run.status === 0 || run.status === 3, findings, output };
}

/** The value of one sample: `name` with exactly these labels (in any order); undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter((p) => p !== '')
      .sort()
      .join(',');
    if (have === wanted) return Number(m[3]);
  }
  return undefined;
}

/** Every metric family the exposition declares (# TYPE lines). */
export function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
}
