import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { SnapshotPosition } from '../replication/state-machine.js';
import { normalizeConfig, type StoredConfig } from '../replication/membership.js';
import { ClusterMismatchError, type StateStore } from '../replication/state-store.js';
import type { Config, Entry, NodeId } from '../replication/types.js';

export { ClusterMismatchError };

/** Keys of replica_meta. */
export const META = {
  cluster: 'cluster',
  mode: 'mode',
  /** The last applied entry's index, its epoch, and the configuration in force there (JSON). */
  applied: 'applied',
  appliedEpoch: 'applied_epoch',
  appliedConfig: 'applied_config',
  /** The replica the data directory belongs to, and its incarnation (see `identity`). */
  replica: 'replica',
  incarnation: 'incarnation',
} as const;

/**
 * How far the chat state has applied the log, the data directory's cluster
 * and mode, and the quarantine, in the replica's SQLite database beside the
 * chat tables (opened with synchronous=FULL). A batch of applies commits with
 * synchronous=NORMAL: in WAL mode that is no fsync, and a power cut may lose
 * the latest batches but never half of one.
 */
export class SqliteStateStore implements StateStore {
  private readonly getMeta: Statement<[string], { value: string }>;
  private readonly setMeta: Statement<[string, string]>;
  private readonly insertQuarantine: Statement<[number, number, string, Buffer, number, string]>;
  private readonly countQuarantine: Statement<[], { n: number }>;
  /** The database's synchronous setting: FULL (true) as opened, NORMAL for batches that need no fsync. */
  private fullSync = true;
  /** The configuration last stored as the applied one: stored again only when it changes. */
  private storedConfig: Config | undefined;

  constructor(private readonly db: Database) {
    this.getMeta = db.prepare('SELECT value FROM replica_meta WHERE key = ?');
    this.setMeta = db.prepare(
      'INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.insertQuarantine = db.prepare(
      'INSERT INTO quarantine (idx, epoch, kind, data, quarantined_at, reason) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.countQuarantine = db.prepare('SELECT count(*) AS n FROM quarantine');
  }

  open(cluster: string, mode: string, initial: SnapshotPosition): SnapshotPosition {
    const storedCluster = this.meta(META.cluster);
    if (storedCluster !== undefined && storedCluster !== cluster) {
      throw new ClusterMismatchError(`the data directory belongs to cluster "${storedCluster}", not "${cluster}"`);
    }
    const storedMode = this.meta(META.mode);
    if (storedMode !== undefined && storedMode !== mode) {
      throw new ClusterMismatchError(
        `the data directory was created in ${storedMode} mode, but this start asks for ${mode}; the mode is chosen once per cluster`,
      );
    }
    if (storedCluster === undefined) {
      this.transaction(() => {
        this.setMeta.run(META.mode, mode);
        this.setMeta.run(META.cluster, cluster);
        this.setApplied(initial);
      }, true);
    }
    const position = readAppliedPosition(this.db);
    this.storedConfig = position.config;
    return position;
  }

  /**
   * The data directory's identity (with the cluster `open` checks): the replica it belongs to, and its incarnation, a
   * random id drawn when the directory is first used (directories of older versions get theirs at their next start).
   * A directory that belongs to another replica throws ClusterMismatchError. A replica that answers from another
   * incarnation than the one its cluster recorded for it lost its data (docs/replication.md).
   */
  identity(replica: NodeId): string {
    const stored = this.meta(META.replica);
    if (stored !== undefined && stored !== replica) {
      throw new ClusterMismatchError(
        `the data directory belongs to replica ${stored}, not ${replica}; start ${replica} on its own data directory`,
      );
    }
    const incarnation = this.meta(META.incarnation);
    if (stored !== undefined && incarnation !== undefined) return incarnation;
    const drawn = incarnation ?? randomUUID();
    this.transaction(() => {
      this.setMeta.run(META.replica, replica);
      this.setMeta.run(META.incarnation, drawn);
    }, true);
    return drawn;
  }

  transaction(writes: () => void, durable: boolean): void {
    if (this.fullSync !== durable) {
      this.db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
      this.fullSync = durable;
    }
    this.db.transaction(writes)();
  }

  setApplied({ lastIndex, lastEpoch, config }: SnapshotPosition): void {
    this.setMeta.run(META.applied, String(lastIndex));
    this.setMeta.run(META.appliedEpoch, String(lastEpoch));
    if (config !== this.storedConfig) {
      this.setMeta.run(META.appliedConfig, JSON.stringify(config));
      this.storedConfig = config;
    }
  }

  quarantine(entries: readonly Entry[], now: number, reason: string): void {
    for (const e of entries) {
      this.insertQuarantine.run(
        e.index,
        e.epoch,
        e.kind,
        Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength),
        now,
        reason,
      );
    }
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
 * caller's read transaction, so it matches the state read in the same one).
 */
export function readAppliedPosition(db: Database): SnapshotPosition {
  const meta = db.prepare<[string], { value: string }>('SELECT value FROM replica_meta WHERE key = ?');
  const value = (key: string) => {
    const row = meta.get(key);
    if (!row) throw new Error(`replica_meta has no ${key}: the database was not opened by a replica yet`);
    return row.value;
  };
  return {
    lastIndex: Number(value(META.applied)),
    lastEpoch: Number(value(META.appliedEpoch)),
    config: normalizeConfig(JSON.parse(value(META.appliedConfig)) as StoredConfig),
  };
}
