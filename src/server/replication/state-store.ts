/**
 * The state store seam: where the state machine's state lives (the chat tables
 * in SQLite, for chat-server) together with how far into the log it has been
 * applied, which moves in the same transactions as the state itself. With the
 * log durable on its own (log-storage.ts), applying need not wait for the disk:
 * a crash that loses applied batches only means applying the same entries
 * again from the log at start, with the same results.
 */
import type { SnapshotPosition } from './state-machine.js';
import type { Entry } from './types.js';

export class ClusterMismatchError extends Error {}

export interface StateStore {
  /**
   * Checks that the state belongs to this cluster and mode (recording them, and
   * `initial`, on first start) and returns where it stands in the log. Throws
   * ClusterMismatchError when it belongs to another.
   */
  open(cluster: string, mode: string, initial: SnapshotPosition): SnapshotPosition;
  /**
   * Runs `writes` (the state machine's applies and restores, `setApplied`,
   * `quarantine`) as one atomic transaction. `durable`: on disk when it returns
   * (an installed snapshot, before the log forgets what it replaced; a
   * compaction point, before the log deletes what it folds in; a quarantine,
   * before the log write that drops those entries is queued); otherwise it may
   * be lost to a crash, never half-kept.
   */
  transaction(writes: () => void, durable: boolean): void;
  /** The state now holds every entry up to `position.lastIndex`. Inside a transaction. */
  setApplied(position: SnapshotPosition): void;
  /** Keeps entries this replica had to drop, with when and why, for an operator to inspect. Inside a transaction. */
  quarantine(entries: readonly Entry[], now: number, reason: string): void;
  quarantinedCount(): number;
}
