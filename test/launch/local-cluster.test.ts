/**
 * The local cluster runner (`npm run cluster`), built, with real processes: a
 * second runner on the same data folder or the same ports refuses and leaves
 * the first alone; one replica is stopped, started and restarted while the
 * others run; Ctrl-C stops each replica with one signal (exit 0,
 * `server.stopped`), and the runner's pid file goes with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, portInUse } from '../../src/launch/process-cluster/ports.js';
import { waitUntil, within } from '../../src/launch/process-cluster/wait.js';
import { requireBuilt, runProgram } from '../support/run-program.js';

const RUNNER_MAIN = fileURLToPath(new URL('../../dist/launch/local-cluster.js', import.meta.url));
const IDS = ['A', 'B', 'C'];

/** The first of three consecutive loopback ports that are all free, and so are their peer ports (1000 up). */
async function freePortRun(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = await freePort();
    if (base + 1002 > 65_535) continue;
    const others = [base + 1, base + 2, base + 1000, base + 1001, base + 1002];
    if (!(await Promise.all(others.map((p) => portInUse('127.0.0.1', p)))).some(Boolean)) return base;
  }
  throw new Error('found no three consecutive free ports');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The log records of replica `id` with event `event`. */
function events(root: string, id: string, event: string): Record<string, unknown>[] {
  return readFileSync(join(root, `${id}.log`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.event === event);
}

describe('the local cluster runner', () => {
  let root: string;
  let basePort: number;
  let runner: ChildProcess;
  let runnerExit: Promise<number | null>;
  let runnerOutput = '';
  /** Every replica pid seen, killed after the tests if still running. */
  const pids = new Set<number>();

  const cli = (...args: string[]) => runProgram(RUNNER_MAIN, [...args, '--data-dir', root], { timeoutMs: 40_000 });
  /** `status`, with the pids it names remembered for the clean-up. */
  const status = async () => {
    const run = await cli('status');
    for (const m of run.stdout.matchAll(/pid (\d+),/g)) pids.add(Number(m[1]));
    return run;
  };
  const pidOf = (statusText: string, id: string) =>
    Number(new RegExp(`^${id} .* running, pid (\\d+)`, 'm').exec(statusText)?.[1]);

  beforeAll(async () => {
    requireBuilt(RUNNER_MAIN);
    root = mkdtempSync(join(tmpdir(), 'chat-local-cluster-'));
    basePort = await freePortRun();
    // In a process group of its own, as a shell runs a foreground job: Ctrl-C is a SIGINT to that group.
    runner = spawn(process.execPath, [RUNNER_MAIN, '--data-dir', root, '--base-port', String(basePort), '--quiet'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runner.stdout!.on('data', (d: Buffer) => (runnerOutput += d.toString()));
    runner.stderr!.on('data', (d: Buffer) => (runnerOutput += d.toString()));
    runnerExit = new Promise((resolve) => runner.once('exit', (code) => resolve(code)));
    await waitUntil(
      'the local cluster to have a leader',
      30_000,
      async () => (await status()).stdout.includes(', leader, epoch'),
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${runnerOutput}`);
    });
  });

  afterAll(() => {
    if (runner?.exitCode === null && runner.signalCode === null) runner.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a second runner on the same data folder or the same ports, leaving the first one alone', async () => {
    const same = await runProgram(RUNNER_MAIN, ['--data-dir', root, '--base-port', String(basePort + 10)]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain(`a local cluster already runs from ${root} (runner pid ${runner.pid})`);

    const elsewhere = mkdtempSync(join(tmpdir(), 'chat-local-cluster-'));
    try {
      const ports = await runProgram(RUNNER_MAIN, ['--data-dir', elsewhere, '--base-port', String(basePort)]);
      expect(ports.code).toBe(2);
      expect(ports.stderr).toContain(`127.0.0.1:${basePort} (for A)`);
      expect(ports.stderr).toContain('already in use');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }

    expect(readFileSync(join(root, 'cluster.pid'), 'utf8').trim()).toBe(String(runner.pid));
    // The replicas authenticate each other with the secret it made; operators use its admin token.
    expect(statSync(root).mode & 0o777).toBe(0o700);
    for (const file of ['cluster.secret', 'admin-token'])
      expect(statSync(join(root, file)).mode & 0o777, file).toBe(0o600);
    const after = await status();
    expect(after.code).toBe(0);
    for (const id of IDS)
      expect(after.stdout).toMatch(new RegExp(`^${id}  127\\.0\\.0\\.1:\\d+  running, pid \\d+`, 'm'));
  });

  it('stops, starts and restarts one replica while the others run, each stop one SIGTERM', async () => {
    const stopped = await cli('stop', 'B');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('stopped B (exit status 0)');
    expect((await status()).stdout).toMatch(/^B  \S+  stopped on request \(exit status 0\)$/m);
    const again = await cli('stop', 'B');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('B is not running');

    const started = await cli('start', 'B');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^B runs \(pid \d+\) and answers on 127\.0\.0\.1:\d+$/m);

    const before = pidOf((await status()).stdout, 'A');
    const restarted = await cli('restart', 'A');
    expect(restarted.code).toBe(0);
    const after = pidOf((await status()).stdout, 'A');
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);

    expect((await cli('restart', 'Q')).stderr).toContain('no replica Q in this local cluster (A, B, C)');
    for (const id of ['A', 'B']) {
      expect(events(root, id, 'server.stopping').map((r) => r.signal)).toEqual(['SIGTERM']);
      expect(events(root, id, 'server.stopped')).toHaveLength(1);
    }
  });

  it('stops every replica with one SIGTERM on Ctrl-C, exits 0 and leaves no pid file', async () => {
    const running = await status();
    const replicaPids = IDS.map((id) => pidOf(running.stdout, id));
    process.kill(-runner.pid!, 'SIGINT');
    expect(await within('the runner to exit', 20_000, runnerExit)).toBe(0);

    for (const pid of replicaPids) expect(alive(pid), `replica pid ${pid} still runs`).toBe(false);
    for (const id of IDS) {
      const stopping = events(root, id, 'server.stopping');
      expect(
        stopping.every((r) => r.signal === 'SIGTERM'),
        `${id} got: ${stopping.map((r) => r.signal).join(', ')}`,
      ).toBe(true);
      expect(events(root, id, 'server.stopped')).toHaveLength(stopping.length);
    }
    expect(existsSync(join(root, 'cluster.pid'))).toBe(false);

    const none = await cli('stop');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no local cluster is running from ${root}`);
  });
});
