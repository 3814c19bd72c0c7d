/**
 * A data directory from before the log moved to segment files (the log, the
 * hard state and the log's base in the SQLite database) is upgraded in place
 * on its first start: the replica resumes with the same log and state, applies
 * what was committed but not applied yet, and goes on serving.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatState } from '../../src/server/chat/chat-state.js';
import type { ChatOp } from '../../src/server/chat/operations.js';
import { encodeOp } from '../../src/server/chat/state-machine.js';
import { ChatReplica } from '../../src/server/chat-replica.js';
import { logDirectory, openReplicaDatabase } from '../../src/server/replica-database.js';
import { encodeConfig, EPOCH_SLOTS, initialConfig } from '../../src/server/replication/membership.js';
import type { Transport } from '../../src/server/replication/transport.js';
import { DATABASE_FILE } from '../../src/server/sqlite/database.js';
import { upgradeSqliteLog } from '../../src/server/storage/legacy-log.js';
import { NodeLogFiles } from '../../src/server/storage/log-files.js';
import { SegmentedLog } from '../../src/server/storage/segmented-log.js';
import { SqliteStateStore } from '../../src/server/storage/state-store.js';
import { waitUntil } from '../support/cluster.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const members = [{ id: 'A', address: '127.0.0.1:1' }];
const config = initialConfig(members);
/** One of A's epochs (A has slot 0). */
const EPOCH = EPOCH_SLOTS;
const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==';

/** A single-replica data directory as the SQLite log store left it: entries 1..3, applied up to 2. */
function legacyDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-legacy-'));
  dirs.push(dir);
  const db = openReplicaDatabase(dir);
  const ops: ChatOp[] = [
    { type: 'createAccount', at: 1, key: 'k1', username: 'alice', passwordHash: hash },
    { type: 'createAccount', at: 2, key: 'k2', username: 'bob', passwordHash: hash },
  ];
  const insert = db.prepare('INSERT INTO log (idx, epoch, kind, data) VALUES (?, ?, ?, ?)');
  const meta = db.prepare('INSERT INTO replica_meta (key, value) VALUES (?, ?)');
  db.transaction(() => {
    insert.run(1, EPOCH, 'config', Buffer.from(encodeConfig({ ...config, inSync: ['A'], index: 1, epoch: EPOCH })));
    ops.forEach((op, i) => insert.run(i + 2, EPOCH, 'op', Buffer.from(encodeOp(op))));
    meta.run('cluster', 'test');
    meta.run('mode', 'in-sync');
    meta.run('hard', JSON.stringify({ epoch: EPOCH, promisedTo: 'A' }));
    meta.run('base', JSON.stringify({ index: 0, epoch: 0, config }));
    meta.run('applied', '2');
    new ChatState(db).apply(ops[0]!, 2);
  })();
  db.close();
  return dir;
}

const silentTransport: Transport = {
  connect: () => undefined,
  send: () => undefined,
  sendSnapshot: () => Promise.reject(new Error('no peers')),
  close: () => undefined,
};

describe('a data directory with the log in SQLite', () => {
  it('moves the log to segment files and resumes from it: what was committed but not applied gets applied', async () => {
    const dir = legacyDataDir();
    const db = openReplicaDatabase(dir);
    const replica = new ChatReplica({
      id: 'A',
      cluster: 'test',
      members,
      db,
      logger: pino({ level: 'silent' }),
      transport: silentTransport,
    });
    try {
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'log'").get()).toBeUndefined();
      expect(readdirSync(logDirectory(dir))).toHaveLength(1);
      replica.start();
      // A single replica elects itself after its election timeout.
      await waitUntil('A to lead', 10_000, () =>
        replica.ensureLeaderReady().then(
          () => true,
          () => undefined,
        ),
      );
      expect(replica.chat.accountByName('alice')).toBeDefined();
      expect(replica.chat.accountByName('bob')).toBeDefined(); // entry 3, applied from the upgraded log
      const outcome = await replica.submit({
        type: 'createAccount',
        at: 3,
        key: 'k3',
        username: 'carol',
        passwordHash: hash,
      });
      expect(outcome.ok).toBe(true);
    } finally {
      await replica.stop();
      db.close();
    }
    // The next start reads the segment files it wrote.
    const again = openReplicaDatabase(dir);
    const log = new SegmentedLog(new NodeLogFiles(logDirectory(dir))).load({
      hard: { epoch: 0, promisedTo: '' },
      base: { index: 0, epoch: 0, config },
    });
    expect(log.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]); // and the new leader's config entry and carol
    expect(new SqliteStateStore(again).open('test', 'in-sync', { lastIndex: 0, lastEpoch: 0, config }).lastIndex).toBe(
      5,
    );
    again.close();
  });

  it('finishes an upgrade a crash interrupted after the segment files were in place', () => {
    const dir = legacyDataDir();
    const legacy = join(dir, 'legacy.db');
    copyFileSync(join(dir, DATABASE_FILE), legacy);
    const first = openReplicaDatabase(dir);
    upgradeSqliteLog(first, logDirectory(dir));
    first.close();
    // The database as it was before its transaction committed; the log directory already whole.
    rmSync(join(dir, `${DATABASE_FILE}-wal`), { force: true });
    rmSync(join(dir, `${DATABASE_FILE}-shm`), { force: true });
    copyFileSync(legacy, join(dir, DATABASE_FILE));
    const db = openReplicaDatabase(dir);
    upgradeSqliteLog(db, logDirectory(dir));
    const position = new SqliteStateStore(db).open('test', 'in-sync', { lastIndex: 0, lastEpoch: 0, config });
    expect(position).toEqual({
      lastIndex: 2,
      lastEpoch: EPOCH,
      config: { ...config, inSync: ['A'], index: 1, epoch: EPOCH },
    });
    db.close();
    expect(existsSync(`${logDirectory(dir)}.writing`)).toBe(false);
    const log = new SegmentedLog(new NodeLogFiles(logDirectory(dir))).load({
      hard: { epoch: 0, promisedTo: '' },
      base: { index: 0, epoch: 0, config },
    });
    expect(log.hard).toEqual({ epoch: EPOCH, promisedTo: 'A' });
    expect(log.entries.map((e) => `${e.index}:${e.kind}`)).toEqual(['1:config', '2:op', '3:op']);
  });
});
