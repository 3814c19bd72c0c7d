/**
 * `npm run chaos -- --duration 60 [--seed N]`: a chaos run against three real
 * chat-server processes (see bench/chaos/run.ts). Prints the fault schedule
 * as it happens and the checker's verdict; exits 1 on a violation, with the
 * seed to replay the schedule.
 */
import { Command } from 'commander';
import { runChaos } from './chaos/run.js';

const program = new Command()
  .name('chaos')
  .description(
    "Random crashes, pauses, restarts, outages and client churn under load; then checks every acknowledged message and the replicas' states.",
  )
  .option('--duration <seconds>', 'how long faults are injected', '60')
  .option('--seed <n>', 'replay the fault schedule of this seed (default: random)')
  .option('--users <n>', 'users chatting from the start', '4')
  .option('--max-pause-ms <ms>', 'longest SIGSTOP pause (kept under 200)', '180');

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{ duration: string; seed?: string; users: string; maxPauseMs: string }>();
  const seed = o.seed !== undefined ? Number(o.seed) : Math.floor(Math.random() * 1_000_000);
  const durationMs = Number(o.duration) * 1000;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number, not "${o.seed}"`);
  if (!(durationMs > 0)) throw new Error(`--duration must be a positive number of seconds, not "${o.duration}"`);
  process.stdout.write(`chaos run: ${durationMs / 1000} s of faults, seed ${seed}\n`);
  const report = await runChaos({
    durationMs,
    seed,
    users: Number(o.users),
    maxPauseMs: Number(o.maxPauseMs),
    log: (l) => process.stdout.write(`${l}\n`),
  });
  const s = report.stats;
  process.stdout.write(
    `\n${s.users} users, ${s.acknowledged} messages acknowledged, ${s.failedSends} sends failed for the user, ${s.delivered} delivered; ` +
      `${s.kills} kills, ${s.pauses} pauses, ${s.outages} total outages, ${s.churns} client churns; ${s.accountsCreated} accounts; final applied index ${s.appliedIndex}\n`,
  );
  if (report.ok) {
    process.stdout.write(
      `PASSED: every acknowledged message delivered exactly once and in order, accounts present, replica digests equal (seed ${seed})\n`,
    );
  } else {
    process.stdout.write(`FAILED with ${report.violations.length} violation(s):\n`);
    for (const v of report.violations.slice(0, 50)) process.stdout.write(`  - ${v}\n`);
    process.stdout.write(`replay the schedule: npm run chaos -- --duration ${durationMs / 1000} --seed ${seed}\n`);
    process.exitCode = 1;
  }
}

process.on('SIGINT', () => process.exit(130));
main().then(
  () => process.exit(),
  (err: Error) => {
    process.stderr.write(`chaos: ${err.message}\n`);
    process.exit(2);
  },
);
