/**
 * A replica's files are its user's only: a data directory (and a secret file)
 * others could read is tightened at start, with a log line naming each; what
 * the server creates (the database, its WAL, the log) is 0600 in a 0700 folder.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort, SERVER_MAIN, waitUntil } from '../support/cluster.js';

const root = mkdtempSync(join(tmpdir(), 'chat-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

it('tightens a data directory and a secret file others could read, and creates everything private', async () => {
  const dataDir = join(root, 'A');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, 'notes'), 'left by an older version', { mode: 0o644 });
  chmodSync(join(dataDir, 'notes'), 0o644);
  const secret = join(root, 'cluster.secret');
  writeFileSync(secret, 'a-secret-others-could-read', { mode: 0o644 });
  chmodSync(secret, 0o644);
  const log = join(root, 'A.log');
  const child = spawn(
    process.execPath,
    [
      SERVER_MAIN,
      '--id',
      'A',
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--peer-listen',
      `127.0.0.1:${await freePort()}`,
      '--data-dir',
      dataDir,
      '--cluster-secret-file',
      secret,
      '--log-file',
      log,
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitUntil(
      'the replica to listen',
      15_000,
      () => existsSync(log) && readFileSync(log, 'utf8').includes('server.listening'),
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  expect([mode(dataDir), mode(join(dataDir, 'notes')), mode(secret)]).toEqual(['700', '600', '600']);
  expect([mode(join(dataDir, 'chat.db')), mode(join(dataDir, 'incoming-snapshots')), mode(log)]).toEqual([
    '600',
    '700',
    '600',
  ]);
  const tightened = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"files.tightened"'))
    .join('\n');
  expect(tightened).toContain(`${dataDir} (was 755)`);
  expect(tightened).toContain(`${join(dataDir, 'notes')} (was 644)`);
  expect(tightened).toContain(`${secret} (was 644)`);
});
