/**
 * One chat-server per data directory: a second process on a directory in use
 * exits with status 2 and one line naming the pid that holds it; a holder killed
 * with SIGKILL leaves no stale lock behind; of two processes racing for a new
 * directory exactly one runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryInUseError, lockDirectory } from '../../src/server/storage/data-dir-lock.js';
import { within } from '../../src/launch/process-cluster/wait.js';
import { freePort, SERVER_MAIN, waitUntil } from '../support/cluster.js';

const temps: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-lock-'));
  temps.push(dir);
  return dir;
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  /** Resolves with the exit status (null when killed by a signal) and everything written to stderr; fails after 15 s. */
  exited(): Promise<{ code: number | null; stderr: string }>;
  logFile: string;
}

/** A single replica A on `dataDir` and a free port, its log in a file of its own. */
async function startReplica(dataDir: string, logDir: string, name: string): Promise<Started> {
  const logFile = join(logDir, `${name}.log`);
  const child = spawn(
    process.execPath,
    [
      SERVER_MAIN,
      '--id',
      'A',
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--data-dir',
      dataDir,
      '--log-file',
      logFile,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  const exited = () => within(`replica ${name} to exit`, 15_000, exit);
  return { child, exited, logFile };
}

const listening = (s: Started) =>
  waitUntil(
    `${s.logFile} to say the replica listens`,
    15_000,
    () => existsSync(s.logFile) && readFileSync(s.logFile, 'utf8').includes('"event":"server.listening"'),
  );

describe('the data directory lock', () => {
  it('is held by one holder at a time, names it, and is free again once released', () => {
    const dir = join(tempDir(), 'A');
    const first = lockDirectory(dir, 'chat-server');
    expect(readFileSync(join(dir, 'chat-server.pid'), 'utf8').trim()).toBe(String(process.pid));
    let refused: unknown;
    try {
      lockDirectory(dir, 'chat-server');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DirectoryInUseError);
    expect((refused as DirectoryInUseError).holderPid).toBe(process.pid);
    first.release();
    expect(existsSync(join(dir, 'chat-server.pid'))).toBe(false);
    lockDirectory(dir, 'chat-server').release();
  });

  it("turns a second chat-server away with exit status 2 and the holder's pid; a SIGKILLed holder leaves no stale lock", async () => {
    const logs = tempDir();
    const dir = join(logs, 'A');
    const first = await startReplica(dir, logs, 'first');
    await listening(first);

    const second = await startReplica(dir, logs, 'second');
    const refused = await second.exited();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `chat-server: data directory ${dir} is in use by another chat-server (pid ${first.child.pid}); stop that one first, or give this one a data directory of its own\n`,
    );
    expect(first.child.exitCode, 'the first replica stopped').toBeNull();

    first.child.kill('SIGKILL');
    await first.exited();
    await listening(await startReplica(dir, logs, 'third'));
  });

  it('lets exactly one of two chat-servers racing for a new directory run', async () => {
    const logs = tempDir();
    const dir = join(logs, 'A');
    const racers = await Promise.all([startReplica(dir, logs, 'one'), startReplica(dir, logs, 'two')]);
    const loser = await Promise.race(racers.map((r, i) => r.exited().then((exit) => ({ ...exit, i }))));
    const winner = racers[1 - loser.i]!;
    expect(loser.code).toBe(2);
    expect(loser.stderr).toContain(`in use by another chat-server (pid ${winner.child.pid})`);
    await listening(winner);
  });
});
