/**
 * Strict configuration of the built programs: a cluster file with an unknown key,
 * an on/off environment variable that is neither, an unknown option and a data
 * directory of a newer schema are each refused in one line with exit status 2.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, SERVER_MAIN } from '../support/cluster.js';
import { requireBuilt, runProgram } from '../support/run-program.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const PROGRAMS = [
  ['chat-server', SERVER_MAIN],
  ['chat-tui', join(DIST, 'tui/main.js')],
  ['chat-ops', join(DIST, 'ops/main.js')],
] as const;

let root: string;
beforeAll(() => {
  for (const [, main] of PROGRAMS) requireBuilt(main);
  root = mkdtempSync(join(tmpdir(), 'chat-strict-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The refusal: nothing on standard error but this one line. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

function clusterFile(name: string, content: unknown): string {
  const path = join(root, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('strict configuration', () => {
  it('refuses a cluster file with an unknown key, naming the key and the file', async () => {
    const typo = clusterFile('typo.json', {
      replicas: [{ id: 'A', address: '127.0.0.1:50051', lsiten: '0.0.0.0:50051' }],
    });
    const run = await runProgram(SERVER_MAIN, ['--cluster-file', typo, '--data-dir', join(root, 'typo')]);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toBe(
      `chat-server: cluster file ${typo}: unknown key "lsiten" in replicas[0] (allowed: name, mode, logLevel, replicas: [{id, address, peerAddress, listen, peerListen}])`,
    );

    const top = clusterFile('top.json', {
      dataDir: '/var/lib/chat',
      replicas: [{ id: 'A', address: '127.0.0.1:50051' }],
    });
    const second = await runProgram(SERVER_MAIN, ['--cluster-file', top, '--data-dir', join(root, 'top')]);
    expect(second.code).toBe(2);
    expect(oneLine(second.stderr)).toContain(`cluster file ${top}: unknown key "dataDir"`);
  });

  it('reads CHAT_JOIN as a boolean: 0 starts an ordinary replica, "maybe" is refused', async () => {
    const refused = await runProgram(SERVER_MAIN, ['--data-dir', join(root, 'maybe')], { env: { CHAT_JOIN: 'maybe' } });
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe('chat-server: CHAT_JOIN="maybe" is not one of 1, 0, true, false, yes, no');

    // CHAT_JOIN=0: a single replica that elects itself (a joining one would wait to be added, and never lead).
    const child = spawn(
      process.execPath,
      [SERVER_MAIN, '--data-dir', join(root, 'zero'), '--listen', `127.0.0.1:${await freePort()}`],
      {
        env: { ...process.env, CHAT_JOIN: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const led = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no leader line in 15 s:\n${out}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('"event":"election.won"'));
          if (line) {
            clearTimeout(timer);
            resolve(line);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
      });
      expect(led).toContain('"replica":"A"');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a data directory of a newer database schema in one line, with no stack trace', async () => {
    const dir = join(root, 'newer');
    mkdirSync(dir);
    const db = new BetterSqlite3(join(dir, 'chat.db'));
    db.pragma('user_version = 999');
    db.close();
    const run = await runProgram(SERVER_MAIN, ['--data-dir', dir, '--listen', `127.0.0.1:${await freePort()}`]);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toMatch(
      new RegExp(
        `^chat-server: ${dir}: the data directory holds schema version 999, newer than this chat-server knows \\(\\d+\\); use a newer chat-server$`,
      ),
    );
  });

  for (const [name, main] of PROGRAMS) {
    it(`${name}: an unknown option exits 2, and --help lists the exit statuses`, async () => {
      const run = await runProgram(main, ['--no-such-option']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("error: unknown option '--no-such-option'");
      const help = await runProgram(main, ['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Exit status:[\s\S]*\b2\b[^\n]*usage/);
    });
  }
});
