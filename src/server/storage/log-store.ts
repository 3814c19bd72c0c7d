import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { LogStorage, LogWrite, WriteDurability } from '../replication/log-storage.js';
import { decodeConfig, encodeConfig, initialConfig } from '../replication/membership.js';
import type { SnapshotPosition } from '../replication/state-machine.js';
import type { Config, Entry, EntryKind, HardState, LogBase, NodeId, PersistedState } from '../replication/types.js';

interface LogRow {
  idx: number;
  epoch: number;
  kind: string;
  data: Buffer;
}

const META_HARD = 'hard';
const META_BASE = 'base';
const META_APPLIED = 'applied';
/** Written by versions before membership changes: the sorted member ids, which configs did not carry. */
const META_LEGACY_MEMBERS = 'members';
const META_CLUSTER = 'cluster';
const META_MODE = 'mode';
const META_REPLICA = 'replica';
const META_INCARNATION = 'incarnation';

export class ClusterMismatchError extends Error {}

/**
 * The replicated log, the replica's hard state and the quarantine, in the
 * replica's SQLite database (opened with synchronous=FULL). A write batch is one
 * transaction, shared with the chat state machine's applies: one fsync when it
 * must be synced, none when it only applies or compacts.
 */
export class LogStore implements LogStorage {
  private readonly getMeta: Statement<[string], { value: string }>;
  private readonly setMeta: Statement<[string, string]>;
  private readonly insertEntry: Statement<[number, number, string, Buffer]>;
  private readonly selectFrom: Statement<[number], LogRow>;
  private readonly deleteFrom: Statement<[number]>;
  private readonly deleteUpTo: Statement<[number]>;
  private readonly insertQuarantine: Statement<[number, number, string, Buffer, number, string]>;
  private readonly countQuarantine: Statement<[], { n: number }>;
  /** The database's synchronous setting: FULL (true) as opened, NORMAL for batches that need no fsync. */
  private fullSync = true;

  constructor(private readonly db: Database) {
    this.getMeta = db.prepare('SELECT value FROM replica_meta WHERE key = ?');
    this.setMeta = db.prepare('INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.insertEntry = db.prepare('INSERT OR REPLACE INTO log (idx, epoch, kind, data) VALUES (?, ?, ?, ?)');
    this.selectFrom = db.prepare('SELECT idx, epoch, kind, data FROM log WHERE idx > ? ORDER BY idx');
    this.deleteFrom = db.prepare('DELETE FROM log WHERE idx >= ?');
    this.deleteUpTo = db.prepare('DELETE FROM log WHERE idx <= ?');
    this.insertQuarantine = db.prepare(
      'INSERT INTO quarantine (idx, epoch, kind, data, quarantined_at, reason) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.countQuarantine = db.prepare('SELECT count(*) AS n FROM quarantine');
  }

  /**
   * Checks that this data directory belongs to this cluster and mode (recording
   * them on first start), and returns what the core resumes from. The set of
   * replicas is not checked: it lives in the log's configuration, which
   * membership changes move on from whatever a start names.
   */
  load(clusterName: string, mode: string, initial: PersistedState): PersistedState {
    const storedCluster = this.meta(META_CLUSTER);
    if (storedCluster !== undefined && storedCluster !== clusterName) {
      throw new ClusterMismatchError(`the data directory belongs to cluster "${storedCluster}", not "${clusterName}"`);
    }
    const storedMode = this.meta(META_MODE);
    if (storedMode !== undefined && storedMode !== mode) {
      throw new ClusterMismatchError(`the data directory was created in ${storedMode} mode, but this start asks for ${mode}; the mode is chosen once per cluster`);
    }
    if (storedCluster === undefined) {
      this.db.transaction(() => {
        this.setMeta.run(META_MODE, mode);
        this.setMeta.run(META_CLUSTER, clusterName);
        this.setMeta.run(META_HARD, JSON.stringify(initial.hard));
        this.setMeta.run(META_BASE, JSON.stringify(initial.base));
        this.setMeta.run(META_APPLIED, String(initial.appliedIndex));
      })();
    }
    this.upgradeLegacyConfigs();
    const hard = JSON.parse(this.meta(META_HARD)!) as HardState;
    const base = JSON.parse(this.meta(META_BASE)!) as LogBase;
    const appliedIndex = Number(this.meta(META_APPLIED));
    const entries = this.selectFrom.all(base.index).map(toEntry);
    return { hard, base, entries, appliedIndex };
  }

  /**
   * The data directory's identity (with the cluster `load` checks): the replica it belongs to, and its incarnation, a
   * random id drawn when the directory is first used (directories of older versions get theirs at their next start).
   * A directory that belongs to another replica throws ClusterMismatchError. A replica that answers from another
   * incarnation than the one its cluster recorded for it lost its data (docs/replication.md).
   */
  identity(replica: NodeId): string {
    const stored = this.meta(META_REPLICA);
    if (stored !== undefined && stored !== replica) {
      throw new ClusterMismatchError(`the data directory belongs to replica ${stored}, not ${replica}; start ${replica} on its own data directory`);
    }
    const incarnation = this.meta(META_INCARNATION);
    if (stored !== undefined && incarnation !== undefined) return incarnation;
    const drawn = incarnation ?? randomUUID();
    this.db.transaction(() => {
      this.setMeta.run(META_REPLICA, replica);
      this.setMeta.run(META_INCARNATION, drawn);
    })();
    return drawn;
  }

  /**
   * Data directories written before membership changes hold configs with only
   * an in-sync set, and the member ids beside them: rewrite those configs with
   * the members (slots in id order, as the epochs were dealt; addresses come
   * from the start's --peers).
   */
  private upgradeLegacyConfigs(): void {
    const legacy = this.meta(META_LEGACY_MEMBERS);
    if (legacy === undefined) return;
    const members = initialConfig(legacy.split(',').map((id) => ({ id, address: '' })));
    const upgrade = (inSync: string[], index: number, epoch: number): Config => ({ ...members, inSync, index, epoch });
    this.db.transaction(() => {
      const base = JSON.parse(this.meta(META_BASE)!) as LogBase & { config: { inSync: string[] } };
      this.setMeta.run(META_BASE, JSON.stringify({ ...base, config: upgrade(base.config.inSync, base.config.index, base.config.epoch) }));
      for (const row of this.db.prepare<[], LogRow>("SELECT idx, epoch, kind, data FROM log WHERE kind = 'config'").all()) {
        const old = JSON.parse(row.data.toString('utf8')) as { inSync: string[] };
        const data = encodeConfig(upgrade(old.inSync, row.idx, row.epoch));
        this.insertEntry.run(row.idx, row.epoch, row.kind, Buffer.from(data));
      }
      this.db.prepare('DELETE FROM replica_meta WHERE key = ?').run(META_LEGACY_MEMBERS);
    })();
  }

  /**
   * One transaction, and so one fsync at most. A batch that needs none (it only
   * applies committed entries or compacts) commits with synchronous=NORMAL (in
   * WAL mode: no fsync): the log already holds those entries durably, the state
   * and the applied index move in one atomic transaction, and a crash that loses
   * it only means applying the same entries again from the log, with the same
   * results. The next FULL commit makes it durable too (the WAL is written in
   * order). This takes an fsync off the path of every acknowledged write.
   */
  write(durability: WriteDurability, writes: () => void, durable: () => void): void {
    this.setFullSync(durability === 'synced');
    this.db.transaction(writes)();
    durable();
  }

  private setFullSync(full: boolean): void {
    if (this.fullSync === full) return;
    this.db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`);
    this.fullSync = full;
  }

  /** Truncates (to quarantine), appends and stores the hard state. Call inside a transaction. */
  persist({ truncateFrom, quarantine, entries, hard }: LogWrite, now: number): void {
    if (truncateFrom !== undefined) {
      this.quarantine(quarantine, now, 'divergent uncommitted entries replaced by the leader');
      this.deleteFrom.run(truncateFrom);
    }
    for (const e of entries) this.insertEntry.run(e.index, e.epoch, e.kind, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
    if (hard) this.setMeta.run(META_HARD, JSON.stringify(hard));
  }

  quarantine(entries: readonly Entry[], now: number, reason: string): void {
    for (const e of entries) {
      this.insertQuarantine.run(e.index, e.epoch, e.kind, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength), now, reason);
    }
  }

  setApplied(index: number): void {
    this.setMeta.run(META_APPLIED, String(index));
  }

  /** Forgets entries folded into the state machine. */
  compact(base: LogBase): void {
    this.deleteUpTo.run(base.index);
    this.setMeta.run(META_BASE, JSON.stringify(base));
  }

  /** After a snapshot: entries before `keepFrom` go, the base and applied index move. */
  resetTo(base: LogBase, keepFrom: number): void {
    this.db.prepare('DELETE FROM log WHERE idx < ?').run(keepFrom);
    this.setMeta.run(META_BASE, JSON.stringify(base));
    this.setMeta.run(META_APPLIED, String(base.index));
  }

  quarantinedCount(): number {
    return this.countQuarantine.get()!.n;
  }

  private meta(key: string): string | undefined {
    return this.getMeta.get(key)?.value;
  }
}

/**
 * Where the applied state stands in the log, read with `db` (inside the
 * caller's read transaction, so it matches the state read in the same one): the
 * applied index, its entry's epoch, and the configuration there.
 */
export function readSnapshotPosition(db: Database): SnapshotPosition {
  const meta = db.prepare<[string], { value: string }>('SELECT value FROM replica_meta WHERE key = ?');
  const epochAt = db.prepare<[number], { epoch: number }>('SELECT epoch FROM log WHERE idx = ?');
  const configAt = db.prepare<[number, number], { idx: number; epoch: number; data: Buffer }>(
    "SELECT idx, epoch, data FROM log WHERE kind = 'config' AND idx <= ? AND idx > ? ORDER BY idx DESC LIMIT 1",
  );
  const applied = Number(meta.get(META_APPLIED)!.value);
  const base = JSON.parse(meta.get(META_BASE)!.value) as LogBase;
  const lastEpoch = applied === base.index ? base.epoch : epochAt.get(applied)!.epoch;
  const row = configAt.get(applied, base.index);
  const config: Config = row ? decodeConfig({ index: row.idx, epoch: row.epoch, kind: 'config', data: row.data }) : base.config;
  return { lastIndex: applied, lastEpoch, config };
}

function toEntry(row: LogRow): Entry {
  return { index: row.idx, epoch: row.epoch, kind: row.kind as EntryKind, data: new Uint8Array(row.data) };
}
