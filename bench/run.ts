/**
 * `npm run bench`: starts its own clusters of real chat-server processes on
 * free loopback ports in a temp dir, drives them from client processes
 * through the client library, measures, prints a table, writes
 * bench/results/latest.json (quick runs: quick.json) and rewrites the
 * generated part of docs/benchmarks.md with SVG charts in bench/results/.
 */
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './lib/clock.js';
import { REPO_ROOT, SERVER_MAIN, stoppedClusterIncidents } from './lib/cluster.js';
import { createContext, type BenchContext, type BenchSettings } from './lib/context.js';
import { machineInfo } from './lib/machine.js';
import { machineBusySeconds } from './lib/proc.js';
import { charts, consoleSummary, DOC_BEGIN, DOC_END, markdown } from './lib/report.js';
import type { BenchResults, ScenarioName, ScenarioResults } from './lib/results.js';
import { runCatchup } from './scenarios/catchup.js';
import { runDisk, runEcho } from './scenarios/ceilings.js';
import { runDelivery } from './scenarios/delivery.js';
import { runEtcd } from './scenarios/etcd.js';
import { runFailover } from './scenarios/failover.js';
import { runGrowth } from './scenarios/growth.js';
import { runProfile } from './scenarios/profile.js';
import { runHistory, runRestart } from './scenarios/store.js';
import { runSubscriptions } from './scenarios/subscriptions.js';
import { runMajority, runThroughput } from './scenarios/throughput.js';

const SCENARIOS: {
  name: ScenarioName;
  what: string;
  run: (ctx: BenchContext) => Promise<ScenarioResults[ScenarioName]>;
}[] = [
  {
    name: 'etcd',
    what: 'a three-member etcd against three chat replicas (in-sync and majority), alternating rounds',
    run: runEtcd,
  },
  {
    name: 'throughput',
    what: 'durable sends at 1, 16, 64 in flight on 3 replicas',
    run: (ctx) => runThroughput(ctx, 3),
  },
  { name: 'single', what: 'the same on 1 replica (cost of replication)', run: (ctx) => runThroughput(ctx, 1) },
  {
    name: 'majority',
    what: 'the same in majority mode on 3 and 5 replicas (cost of partition safety)',
    run: runMajority,
  },
  { name: 'echo', what: 'gRPC echo ceiling', run: runEcho },
  { name: 'disk', what: 'SQLite fsync ceiling at the batch sizes seen', run: runDisk },
  { name: 'delivery', what: 'send-to-delivery latency at a fixed rate', run: runDelivery },
  { name: 'failover', what: 'leader and follower SIGKILL under load', run: runFailover },
  { name: 'catchup', what: 'a returning follower catching up', run: runCatchup },
  { name: 'restart', what: 'restarts with the large store', run: runRestart },
  { name: 'history', what: 'throughput with the large store vs an empty one', run: runHistory },
  { name: 'subscriptions', what: 'idle streams: CPU, memory, fan-out', run: runSubscriptions },
  { name: 'profile', what: 'CPU profiles at 64 in flight (with --profile)', run: runProfile },
  {
    name: 'growth',
    what: 'one store size: bytes per message and account, restart, catch-up by log and by snapshot (only when named)',
    run: runGrowth,
  },
];

interface Options {
  quick?: boolean;
  scenario?: string[];
  workers?: string;
  duration?: string;
  warmup?: string;
  messages?: string;
  users?: string;
  catchup?: string;
  trials?: string;
  etcdRounds?: string;
  profile?: string | boolean;
  out?: string;
  docs?: boolean;
  maxMinutes?: string;
  waitQuiet?: string;
  freshStores?: boolean;
}

const program = new Command()
  .name('bench')
  .description('Benchmarks of the replicated chat cluster on this machine (see docs/benchmarks.md).')
  .option(
    '--quick',
    'a short smoke run: short windows, a small store, fewer trials; writes bench/results/quick.json, not the docs',
  )
  .addOption(
    new Option(
      '--scenario <names...>',
      `run only these (comma-separated or repeated): ${SCENARIOS.map((s) => s.name).join(', ')}`,
    ),
  )
  .option('--workers <n>', 'client processes for 16 and 64 in flight (default 2)')
  .option('--duration <seconds>', 'measurement window per level (default 10; quick 3)')
  .option('--warmup <seconds>', 'warm-up before each window (default 2; quick 1)')
  .option('--messages <n>', 'messages in the large store (default 1000000; quick 50000)')
  .option('--users <n>', 'accounts in the prepared stores and open streams (default 1000; quick 200)')
  .option('--catchup <n>', 'entries sent while a follower is down (default 100000; quick 3000)')
  .option('--trials <n>', 'leader kills in the failover scenario (default 5; quick 2)')
  .option('--etcd-rounds <n>', 'rounds of the etcd comparison, each etcd and both chat modes (default 2; quick 1)')
  .option('--profile [dir]', 'also run the profile scenario (CPU profiles kept in dir, default a temp dir)')
  .option('--out <file>', 'results file (default bench/results/latest.json; quick: quick.json)')
  .option('--no-docs', 'do not rewrite docs/benchmarks.md')
  .option('--max-minutes <n>', 'stop starting new scenarios after this long (default 40; quick 10)')
  .option(
    '--fresh-stores',
    'rebuild the prepared stores even if a cached copy exists (they are cached in the OS temp dir)',
  )
  .option(
    '--wait-quiet <minutes>',
    'before each scenario, wait up to this long for the machine to be idle (under 15% of a core busy over 5 s)',
  );

function num(v: string | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`${what} must be a positive number, not "${v}"`);
  return x;
}

function settingsFrom(o: Options): BenchSettings {
  const quick = o.quick ?? false;
  return {
    quick,
    workers: num(o.workers, 2, '--workers'),
    warmupMs: num(o.warmup, quick ? 1 : 2, '--warmup') * 1000,
    durationMs: num(o.duration, quick ? 3 : 10, '--duration') * 1000,
    storeMessages: num(o.messages, quick ? 50_000 : 1_000_000, '--messages'),
    storeUsers: num(o.users, quick ? 200 : 1000, '--users'),
    catchupEntries: num(o.catchup, quick ? 3_000 : 100_000, '--catchup'),
    failoverTrials: num(o.trials, quick ? 2 : 5, '--trials'),
    followerTrials: quick ? 1 : 3,
    etcdRounds: num(o.etcdRounds, quick ? 1 : 2, '--etcd-rounds'),
    profileDir: typeof o.profile === 'string' ? o.profile : undefined,
    freshStores: o.freshStores ?? false,
  };
}

function selected(o: Options): ScenarioName[] {
  const all = SCENARIOS.map((s) => s.name);
  const chosen = o.scenario
    ?.flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean) as ScenarioName[] | undefined;
  if (chosen) {
    const unknown = chosen.filter((c) => !all.includes(c));
    if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; choose from ${all.join(', ')}`);
    return all.filter((s) => chosen.includes(s));
  }
  return all.filter((s) => (s !== 'profile' || o.profile !== undefined) && s !== 'growth');
}

/** Waits until the whole machine is nearly idle (other work skews every number), up to `maxMs`; returns the last busy share. */
async function waitQuiet(maxMs: number, log: (m: string) => void): Promise<number> {
  const end = Date.now() + maxMs;
  let busy = 0;
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 5_000));
    busy = ((machineBusySeconds() - before) / 5) * 100;
    if (busy < 15 || Date.now() > end) break;
    log(`   waiting for a quiet machine: ${busy.toFixed(0)}% of a core busy with other work`);
  }
  return busy;
}

function writeDocs(results: BenchResults): void {
  const file = join(REPO_ROOT, 'docs/benchmarks.md');
  const generated = markdown(results, '../bench/results');
  let text: string;
  if (existsSync(file)) {
    const old = readFileSync(file, 'utf8');
    const a = old.indexOf(DOC_BEGIN);
    const b = old.indexOf(DOC_END);
    text =
      a >= 0 && b > a
        ? old.slice(0, a) + generated + old.slice(b + DOC_END.length)
        : `${old.trimEnd()}\n\n${generated}\n`;
  } else {
    text = `# Benchmarks\n\nMeasured by \`npm run bench\` (bench/run.ts) on real processes.\n\n${generated}\n`;
  }
  writeFileSync(file, text);
}

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<Options>();
  const settings = settingsFrom(o);
  const names = selected(o);
  if (!existsSync(SERVER_MAIN))
    throw new Error(`${SERVER_MAIN} is missing: run \`npm run build\` first (npm run bench does)`);
  const out = o.out ?? join(REPO_ROOT, 'bench/results', settings.quick ? 'quick.json' : 'latest.json');
  const tmp = mkdtempSync(join(tmpdir(), 'chat-bench-run-'));
  const started = Date.now();
  const log = (m: string) => process.stdout.write(`${m}\n`);
  const ctx = createContext(settings, tmp, log);
  const deadline = started + num(o.maxMinutes, settings.quick ? 10 : 40, '--max-minutes') * 60_000;
  const perScenarioMs = settings.quick ? 5 * 60_000 : 20 * 60_000;

  // A partial run adds to the results already there.
  let previous: BenchResults | undefined;
  if (o.scenario && existsSync(out)) {
    try {
      previous = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    } catch {
      previous = undefined;
    }
  }
  const date = new Date().toISOString();
  const results: BenchResults = {
    version: 1,
    date,
    quick: settings.quick,
    settings,
    machine: machineInfo(),
    ranAt: { ...(previous?.ranAt ?? {}) },
    results: { ...(previous?.results ?? {}) },
    errors: [],
    incidents: { ...(previous?.incidents ?? {}) },
    seconds: 0,
  };
  log(`chat-cluster benchmarks${settings.quick ? ' (quick)' : ''}: ${names.join(', ')}`);
  log(
    `machine: ${results.machine.nproc} CPUs (${results.machine.cpuModel}), ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, load average ${results.machine.loadAverageAtStart.join(' ')}`,
  );
  try {
    for (const name of names) {
      const scenario = SCENARIOS.find((s) => s.name === name)!;
      if (Date.now() > deadline) {
        results.errors.push({ scenario: name, message: 'skipped: the run reached --max-minutes' });
        continue;
      }
      log(`\n== ${name}: ${scenario.what}`);
      if (o.waitQuiet) await waitQuiet(num(o.waitQuiet, 10, '--wait-quiet') * 60_000, log);
      const t0 = Date.now();
      const seen = stoppedClusterIncidents.length;
      try {
        const value = await within(`scenario ${name}`, perScenarioMs, scenario.run(ctx));
        (results.results as Record<string, unknown>)[name] = value;
        results.ranAt[name] = date;
        log(`   (${Math.round((Date.now() - t0) / 1000)} s)`);
      } catch (err) {
        const message = (err as Error).stack ?? String(err);
        log(`   FAILED: ${message}`);
        results.errors.push({ scenario: name, message });
      }
      const mine = stoppedClusterIncidents.slice(seen);
      const summary = {
        clusters: mine.length,
        electionsWon: mine.reduce((n, i) => n + i.electionsWon, 0),
        quarantined: mine.reduce((n, i) => n + i.quarantined, 0),
        safetyViolations: mine.reduce((n, i) => n + i.safetyViolations, 0),
        firstViolation: mine.find((i) => i.firstViolation)?.firstViolation,
      };
      results.incidents[name] = summary;
      if (summary.safetyViolations > 0)
        log(
          `   SAFETY VIOLATIONS in the replicas' logs: ${summary.safetyViolations} (first: ${summary.firstViolation})`,
        );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  results.seconds = Math.round((Date.now() - started) / 1000);
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`\n${consoleSummary(results)}\n\nresults: ${out}`);
  if (o.docs !== false && !settings.quick) {
    for (const [file, svg] of charts(results).svg) writeFileSync(join(REPO_ROOT, 'bench/results', file), svg);
    writeDocs(results);
    log('docs: docs/benchmarks.md, charts in bench/results/*.svg');
  }
  process.exitCode = results.errors.some((e) => !e.message.startsWith('skipped')) ? 1 : 0;
}

process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
main().then(
  () => process.exit(),
  (err: Error) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(2);
  },
);
