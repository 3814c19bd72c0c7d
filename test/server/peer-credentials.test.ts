/**
 * A replica with peers and no way to authenticate them does not start (the
 * built chat-server): exit status 2 and what to give it. --insecure-peers, for
 * throwaway experiments, starts it and says loudly what that means; a secret
 * too short to be one is refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, SERVER_MAIN, waitUntil } from '../support/cluster.js';
import { requireBuilt, runProgram } from '../support/run-program.js';

let dir: string;

beforeAll(() => {
  requireBuilt(SERVER_MAIN);
  dir = mkdtempSync(join(tmpdir(), 'chat-peer-credentials-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const replicaArgs = async (name: string) => [
  '--id',
  'A',
  '--listen',
  `127.0.0.1:${await freePort()}`,
  '--peer-listen',
  `127.0.0.1:${await freePort()}`,
  '--peers',
  `B=127.0.0.1:${await freePort()},C=127.0.0.1:${await freePort()}`,
  '--data-dir',
  join(dir, name),
];

it('refuses to start a replica with peers and neither a cluster secret nor certificates, saying what to give it', async () => {
  const run = await runProgram(SERVER_MAIN, await replicaArgs('none'));
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('no way to know them from strangers');
  expect(run.stderr).toContain('--cluster-secret-file');
});

it('refuses a cluster secret too short to be one', async () => {
  const secret = join(dir, 'short.secret');
  writeFileSync(secret, 'hunter2\n', { mode: 0o600 });
  const run = await runProgram(SERVER_MAIN, [...(await replicaArgs('short')), '--cluster-secret-file', secret]);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/holds 7 characters; use at least 16/);
});

it('starts with --insecure-peers and logs that anyone reaching the peer listener can act as a replica', async () => {
  const log = join(dir, 'insecure.log');
  const child = spawn(
    process.execPath,
    [SERVER_MAIN, ...(await replicaArgs('insecure')), '--insecure-peers', '--log-file', log],
    { stdio: 'ignore' },
  );
  try {
    const records = () => {
      try {
        return readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { event?: string; msg?: string });
      } catch {
        return [];
      }
    };
    await waitUntil(
      'the replica to listen',
      15_000,
      async () => records().some((r) => r.event === 'server.listening') || undefined,
    );
    expect(records().find((r) => r.event === 'peers.insecure')?.msg).toMatch(
      /^INSECURE: --insecure-peers: anyone who reaches the peer listener can act as a replica/,
    );
  } finally {
    child.kill('SIGKILL');
  }
});
