/**
 * A replica whose disk fills up, with real processes: C keeps its data on a
 * small tmpfs of its own while users send. When C's disk is full, C must stop
 * with a line that says so (not an anonymous stack trace), the cluster must go
 * on without it, and once there is room again C must start, catch up and end
 * with the same state as the others, with every acknowledged message kept.
 *
 * Mounting a tmpfs needs root on Linux (CI runs as root). Elsewhere it fails
 * with the reason, unless CHAT_SKIP_MOUNT=1 says to skip it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient } from '../../src/client/index.js';
import type { ChatMessage } from '../../src/client/api.js';
import { wholeConversation } from '../../bench/lib/history.js';
import { freePort, SERVER_MAIN, startCluster, type TestCluster } from '../support/cluster.js';
import { expectEqualStates } from '../support/conversation.js';

const skip = process.env.CHAT_SKIP_MOUNT === '1';

function mountUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `mounting a small tmpfs needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'mounting a small tmpfs needs root (run the suite as root, as CI does)';
  return undefined;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

describe.skipIf(skip)('a replica whose disk fills up', () => {
  let cluster: TestCluster | undefined;
  let mountPoint: string | undefined;
  let mounted = false;
  const closers: { close(): void }[] = [];

  /** A tmpfs of this size in a new temp dir, unmounted and removed after the test. */
  const mountSmallDisk = (size: string): string => {
    const unavailable = mountUnavailable();
    if (unavailable) throw new Error(unavailable);
    const dir = mkdtempSync(join(tmpdir(), 'chat-small-disk-'));
    mountPoint = dir;
    run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    mounted = true;
    return dir;
  };

  afterEach(async () => {
    for (const c of closers) c.close();
    closers.length = 0;
    await cluster?.stop();
    cluster = undefined;
    if (mounted) run('umount', [mountPoint!]);
    mounted = false;
    if (mountPoint) rmSync(mountPoint, { recursive: true, force: true });
    mountPoint = undefined;
  });

  it('stops saying its disk is full, the others go on, and after space is freed it catches up with nothing lost', async () => {
    const disk = mountSmallDisk('6m');
    const cDir = join(disk, 'C');

    cluster = await startCluster({ dataDirs: { C: cDir } });
    const c = cluster;
    const alice = new ChatClient({ servers: c.addresses, deadlineMs: 2_000, retryBudgetMs: 20_000 });
    const bob = new ChatClient({ servers: c.addresses, deadlineMs: 2_000, retryBudgetMs: 20_000 });
    closers.push(alice, bob);
    await alice.createAccount('alice', 'alice-password');
    await bob.createAccount('bob', 'bob-password');
    await alice.login('alice', 'alice-password');

    // Eight senders of ~1 KiB messages until C has stopped and 200 more have gone through without it.
    const acked: ChatMessage[] = [];
    const text = 'x'.repeat(1000);
    let n = 0;
    let ackedAfterStop: number | undefined;
    const done = () => ackedAfterStop !== undefined && acked.length >= ackedAfterStop + 200;
    const deadline = Date.now() + 90_000;
    const sender = async () => {
      while (!done() && Date.now() < deadline) {
        const m = await alice.sendMessage('bob', `${++n} ${text}`).catch(() => undefined);
        if (m) acked.push(m);
        if (ackedAfterStop === undefined && !c.isRunning('C')) ackedAfterStop = acked.length;
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    expect(ackedAfterStop, 'C never stopped: its 6 MiB disk did not fill').toBeDefined();
    expect(acked.length, 'the cluster did not go on without C').toBeGreaterThanOrEqual(ackedAfterStop! + 200);

    // It said why, in its log: the fatal line names the full disk.
    const fatal = readFileSync(c.logFile('C'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event?: string; code?: string; msg?: string })
      .find((e) => e.event === 'server.crashed');
    // Whichever filled it: the log's segment files or the database.
    expect(['ENOSPC', 'SQLITE_FULL']).toContain(fatal?.code);
    expect(fatal!.msg).toContain(`the disk holding ${cDir} is full`);
    expect(fatal!.msg).toMatch(/Free space there and start it again/);

    // Room again: C starts, catches up and holds what the others hold.
    run('mount', ['-o', 'remount,size=256m', disk]);
    await c.restart('C');
    await expectEqualStates(c, c.ids, 60_000);

    // Every acknowledged message is there, once.
    await bob.login('bob', 'bob-password');
    const stored = (await wholeConversation(bob, 'alice')).map((m) => m.id);
    const storedIds = new Set(stored);
    expect(storedIds.size).toBe(stored.length);
    const missing = acked.filter((m) => !storedIds.has(m.id)).map((m) => m.text.split(' ')[0]);
    expect(missing, 'acknowledged messages missing').toEqual([]);
  }, 180_000);

  it('will not start on a disk with no room, and says so with exit status 2', async () => {
    const disk = mountSmallDisk('1m');
    // Fill it but for a few KiB: the database cannot even set up its files.
    try {
      writeFileSync(join(disk, 'filler'), Buffer.alloc(1024 * 1024));
    } catch {
      // full
    }
    const dir = join(disk, 'A');
    const started = spawnSync(
      process.execPath,
      [SERVER_MAIN, '--id', 'A', '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', dir],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(started.status).toBe(2);
    expect(started.stderr).toMatch(
      new RegExp(`^chat-server: (the disk holding ${dir} is full|reading or writing ${dir} failed \\((SQLITE_|EIO))`),
    );
    expect(started.stderr).not.toMatch(/\n\s+at /);
  });
});
