/**
 * The log storage seam (hashicorp/raft's LogStore and StableStore, TigerBeetle's
 * Storage): where a replica keeps its replicated log, its hard state, how far it
 * has applied, and the quarantine of entries it had to drop.
 * `src/server/storage/log-store.ts` implements it in the replica's SQLite
 * database, sharing transactions with the chat tables.
 *
 * The driver hands one pass's writes to `write` as one batch and learns through
 * the `durable` callback that the batch is on disk; only then does it send what
 * depends on it (acks, promises, answers to clients). A store that syncs off the
 * event loop (group commit) calls `durable` later instead of before returning.
 */
import type { Entry, HardState, LogBase, NodeId, PersistedState } from './types.js';

/**
 * How durable a batch must be: `synced` holds log entries, a truncation, hard
 * state or an installed snapshot, which must be on disk before anyone hears of
 * them; `unsynced` only applies committed entries or compacts, which a crash may
 * lose (the log still holds the entries, and they are applied again at start).
 */
export type WriteDurability = 'synced' | 'unsynced';

/** One persist action of the core: truncate (moving the dropped entries to quarantine), append, store the hard state. */
export interface LogWrite {
  truncateFrom?: number;
  quarantine: readonly Entry[];
  entries: readonly Entry[];
  hard?: HardState;
}

export interface LogStorage {
  /**
   * What the core resumes from, after checking that the stored log belongs to
   * this cluster and mode (recording them on first start, with `initial`).
   * Throws ClusterMismatchError when it belongs to another.
   */
  load(cluster: string, mode: string, initial: PersistedState): PersistedState;
  /**
   * The data directory's incarnation (drawn on its first use), after checking that it belongs to `replica`. Throws
   * ClusterMismatchError when it belongs to another.
   */
  identity(replica: NodeId): string;
  /**
   * Runs `writes` (calls of the methods below, and the state machine's applies
   * and restores) as one atomic batch, durable as asked, then calls `durable`.
   * A throw from `writes` or from the disk discards the whole batch and propagates.
   */
  write(durability: WriteDurability, writes: () => void, durable: () => void): void;
  persist(write: LogWrite, now: number): void;
  /** Entries up to `index` are applied to the state machine (in the same batch as the applying). */
  setApplied(index: number): void;
  /** Forgets entries up to `base.index`: they are folded into the state machine. */
  compact(base: LogBase): void;
  /** After a snapshot is installed: entries before `keepFrom` go, and the base and applied index move to `base`. */
  resetTo(base: LogBase, keepFrom: number): void;
  /** Keeps entries this replica had to drop, with when and why, for an operator to inspect. */
  quarantine(entries: readonly Entry[], now: number, reason: string): void;
  quarantinedCount(): number;
}
