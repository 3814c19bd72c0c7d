/**
 * The log storage seam (hashicorp/raft's LogStore and StableStore, TigerBeetle's
 * journal): where a replica keeps its replicated log and its hard state.
 * `src/server/storage/segmented-log.ts` implements it as append-only segment
 * files written off the event loop.
 *
 * Writes are queued in order and made durable in order, several at a time
 * (group commit): `append` and `reset` return a sequence number at once, and
 * `durableSeq` reaches it once the write is on disk. The driver sends what
 * depends on a write (acks, promises) only then; a leader's own appends go out
 * before (its followers write in parallel), and it counts itself toward commit
 * only up to `stableIndex`.
 */
import type { Entry, HardState, LogBase } from './types.js';

/** What the log holds after a restart. */
export interface StoredLog {
  hard: HardState;
  base: LogBase;
  /** Entries after base.index, in order. */
  entries: Entry[];
}

/** One persist action of the core: drop the log from `truncateFrom` on, append `entries`, store `hard`. */
export interface LogWrite {
  truncateFrom?: number;
  entries: readonly Entry[];
  hard?: HardState;
}

/** Counters since start, for metrics: how much the log wrote and how long its writes took to become durable. */
export interface LogStats {
  /** Writes to disk, each followed by a sync (one per group of queued writes). */
  syncs: number;
  /** Queued writes they carried (appends and resets). */
  writes: number;
  bytes: number;
  /** Seconds from starting a group's write to its sync's end, summed over `syncs`. */
  syncSeconds: number;
  /** The longest of them, in seconds. */
  maxSyncSeconds: number;
}

export interface LogStorage {
  /** What the log holds (a torn tail from a crash cut off first); `initial` when it holds nothing yet. */
  load(initial: { hard: HardState; base: LogBase }): StoredLog;
  /** Queues a write; returns its sequence number. */
  append(write: LogWrite): number;
  /** Queues starting over after an installed snapshot: the log becomes `keep` after `base`. Returns its sequence number. */
  reset(base: LogBase, keep: readonly Entry[]): number;
  /** Starts writing what is queued, if no write is in flight (the driver calls it once per pass). */
  flush(): void;
  /** Every write up to this sequence number is durable. */
  readonly durableSeq: number;
  /** The log as written so far is durable up to this index (truncations and resets queued since count at once). */
  readonly stableIndex: number;
  /** Entries up to `index` are applied and durable in the state machine: the log may drop them. */
  compact(index: number): void;
  /** Called after writes became durable. */
  onDurable(listener: () => void): void;
  /** Called once when a write or sync fails: nothing more becomes durable, and the replica must stop. */
  onFailure(listener: (err: Error) => void): void;
  stats(): LogStats;
  /** Waits for the write in flight, then closes the files. */
  close(): Promise<void>;
}
