/**
 * Prepared data directories, built offline with the server's own code: the
 * real schema (openReplicaDatabase), the real chat state machine (ChatState.apply,
 * op by op, exactly as a replica applies committed entries) and the real log
 * format (its first segment file). The result is what a replica's directory looks like after the same
 * ops went through the cluster and the log was compacted: every op applied,
 * the newest `retainEntries` entries still in the log, the in-sync set
 * {A, B, C} of an epoch led by A. Copied to every replica, it is a cluster
 * after a clean shutdown.
 *
 * Going through the cluster would take about as many seconds as the cluster
 * sustains sends per second per message; this takes one transaction per
 * 20,000 ops and no fsync per op.
 */
import { randomBytes } from 'node:crypto';
import { encodeConfig, EPOCH_SLOTS, initialConfig } from '../../src/server/replication/membership.js';
import { ReplicaCore } from '../../src/server/replication/core.js';
import type { Entry, LogBase } from '../../src/server/replication/types.js';
import type { ChatOp } from '../../src/server/chat/operations.js';
import { ChatState } from '../../src/server/chat/chat-state.js';
import { encodeOp } from '../../src/server/chat/state-machine.js';
import { hashToken } from '../../src/server/rpc/auth.js';
import { hashPassword } from '../../src/server/rpc/passwords.js';
import { logDirectory, openReplicaDatabase } from '../../src/server/replica-database.js';
import { writeLogDirectory } from '../../src/server/storage/segmented-log.js';
import { SqliteStateStore } from '../../src/server/storage/state-store.js';
import { BENCH_PASSWORD, type Account } from './accounts.js';

export const DATASET_MEMBERS = ['A', 'B', 'C'];
/**
 * The replicas without addresses: the cluster that opens the data set gives them with --peers, which wins over
 * addresses in the stored configuration.
 */
const DATASET_CONFIG = initialConfig(DATASET_MEMBERS.map((id) => ({ id, address: '' })));
/** An epoch of A's (A has slot 0: epochs are dealt round-robin to slots, epoch mod EPOCH_SLOTS = slot). */
const EPOCH = EPOCH_SLOTS;
const CHUNK = 20_000;
const CONTACTS = 10;
const MESSAGE_SPREAD_MS = 30 * 24 * 60 * 60 * 1000;

export interface DatasetOptions {
  users: number;
  messages: number;
  /** Entries kept in the log after compaction (the server keeps 5,000 by default). */
  retainEntries?: number;
  textBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Dataset {
  dir: string;
  /** Every account with a session token (a login op per account). */
  accounts: Account[];
  lastIndex: number;
  messages: number;
  seconds: number;
}

export function datasetUserName(i: number): string {
  return `user${String(i).padStart(4, '0')}`;
}

export async function buildDataset(dir: string, o: DatasetOptions): Promise<Dataset> {
  const started = performance.now();
  const db = openReplicaDatabase(dir);
  const store = new SqliteStateStore(db);
  const chat = new ChatState(db);
  store.open('chat', 'in-sync', {
    lastIndex: 0,
    lastEpoch: 0,
    config: ReplicaCore.initialState(DATASET_CONFIG.replicas).base.config,
  });
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const retain = o.retainEntries ?? 5_000;
  const end = Date.now() - 60_000;
  const begin = end - (o.messages > 0 ? MESSAGE_SPREAD_MS : 0);
  const total = 1 + 2 * o.users + o.messages;
  const kept: Entry[] = [];
  let index = 0;

  const keep = (entry: Entry) => {
    if (total - entry.index < retain) kept.push(entry);
  };
  const config: Entry = { index: ++index, epoch: EPOCH, kind: 'config', data: encodeConfig(DATASET_CONFIG) };
  keep(config);

  const applyOp = (op: ChatOp) => {
    const entry: Entry = { index: ++index, epoch: EPOCH, kind: 'op', data: encodeOp(op) };
    const outcome = chat.apply(op, entry.index);
    if (!outcome.ok)
      throw new Error(`building the data set: op ${entry.index} (${op.type}) failed: ${outcome.message}`);
    keep(entry);
  };

  const accounts: Account[] = [];
  db.transaction(() => {
    for (let u = 0; u < o.users; u++)
      applyOp({
        type: 'createAccount',
        at: begin,
        key: `bench-create-${u}`,
        username: datasetUserName(u),
        passwordHash,
      });
    for (let u = 0; u < o.users; u++) {
      const token = randomBytes(32).toString('base64url');
      accounts.push({ username: datasetUserName(u), token });
      applyOp({ type: 'login', at: begin, key: `bench-login-${u}`, userId: u + 1, tokenHash: hashToken(token) });
    }
  })();

  const filler = 'x'.repeat(o.textBytes ?? 100);
  for (let done = 0; done < o.messages;) {
    const n = Math.min(CHUNK, o.messages - done);
    db.transaction(() => {
      for (let i = done; i < done + n; i++) {
        const from = i % o.users;
        // Every user writes to its next CONTACTS users in turn: conversations of about messages / (users * CONTACTS) each way.
        const to = (from + 1 + (Math.floor(i / o.users) % Math.max(1, Math.min(CONTACTS, o.users - 1)))) % o.users;
        const at = begin + Math.floor(((i + 1) / o.messages) * (end - begin));
        applyOp({
          type: 'sendMessage',
          at,
          key: `bench-send-${i}`,
          senderId: from + 1,
          recipient: datasetUserName(to),
          text: `m${i} ${filler}`,
        });
      }
    })();
    done += n;
    o.onProgress?.(done, o.messages);
    await new Promise((r) => setImmediate(r));
  }

  const base: LogBase =
    kept[0]?.index === 1
      ? { index: 0, epoch: 0, config: DATASET_CONFIG }
      : { index: index - kept.length, epoch: EPOCH, config: { ...DATASET_CONFIG, index: 1, epoch: EPOCH } };
  store.transaction(
    () =>
      store.setApplied({ lastIndex: index, lastEpoch: EPOCH, config: { ...DATASET_CONFIG, index: 1, epoch: EPOCH } }),
    true,
  );
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeLogDirectory(
    logDirectory(dir),
    {
      prevIndex: base.index,
      prevEpoch: base.epoch,
      config: base.config,
      hard: { epoch: EPOCH, promisedTo: 'A' },
      reset: false,
    },
    kept,
  );
  return { dir, accounts, lastIndex: index, messages: o.messages, seconds: (performance.now() - started) / 1000 };
}
