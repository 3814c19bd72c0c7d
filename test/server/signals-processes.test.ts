/**
 * A chat-server process and its signals: SIGHUP reopens the log file (as
 * logrotate needs after moving it away) and reads the log level again from the
 * cluster file, without stopping; SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, SERVER_MAIN, waitUntil } from '../support/cluster.js';
import { requireBuilt } from '../support/run-program.js';

let root: string;
let child: ChildProcess;
let exited: Promise<number | null>;
const log = () => join(root, 'A.log');
const clusterFile = () => join(root, 'cluster.json');

function records(path: string): { event?: string; level: number; [k: string]: unknown }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { level: number });
}

function writeClusterFile(address: string, logLevel: string): void {
  writeFileSync(clusterFile(), JSON.stringify({ name: 'chat', logLevel, replicas: [{ id: 'A', address }] }));
}

beforeAll(async () => {
  requireBuilt(SERVER_MAIN);
  root = mkdtempSync(join(tmpdir(), 'chat-signals-'));
  const address = `127.0.0.1:${await freePort()}`;
  writeClusterFile(address, 'info');
  child = spawn(
    process.execPath,
    [SERVER_MAIN, '--cluster-file', clusterFile(), '--id', 'A', '--data-dir', join(root, 'A'), '--log-file', log()],
    { stdio: 'ignore' },
  );
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await waitUntil('the replica to listen', 15_000, () => records(log()).some((r) => r.event === 'server.listening'));
});
afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

describe('chat-server signals', () => {
  it("SIGHUP reopens a log file moved away and takes the cluster file's new log level", async () => {
    renameSync(log(), `${log()}.1`);
    writeClusterFile(records(`${log()}.1`).find((r) => r.event === 'server.listening')!.address as string, 'debug');
    child.kill('SIGHUP');
    const reloaded = await waitUntil('a new log file with the reload', 10_000, () =>
      records(log()).find((r) => r.event === 'server.reloaded'),
    );
    expect(reloaded).toMatchObject({ level: 30, logLevel: 'debug', before: 'info', logFile: log() });
    expect(reloaded.msg).toBe(`SIGHUP: reopened ${log()}; log level debug`);
    // The old file got nothing more.
    expect(records(`${log()}.1`).some((r) => r.event === 'server.reloaded')).toBe(false);
    expect(child.exitCode).toBeNull();
  });

  it('SIGHUP with a log level it does not know says so and keeps the level', async () => {
    const address = records(`${log()}.1`).find((r) => r.event === 'server.listening')!.address as string;
    writeClusterFile(address, 'loud');
    child.kill('SIGHUP');
    const failed = await waitUntil('the refusal', 10_000, () =>
      records(log()).find((r) => r.event === 'server.reload_failed'),
    );
    expect(failed.reason).toContain('logLevel "loud" is not one of trace, debug, info, warn, error, fatal, silent');
    expect(child.exitCode).toBeNull();
  });

  it('SIGTERM stops it cleanly', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(records(log()).some((r) => r.event === 'server.stopped')).toBe(true);
  });
});
