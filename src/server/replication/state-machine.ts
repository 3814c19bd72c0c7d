/**
 * The state machine seam (hashicorp/raft's FSM, TigerBeetle's StateMachine):
 * what the replica driver needs of whatever the log replicates. The driver
 * knows nothing of the ops' meaning or encoding; the chat package implements
 * this (src/server/chat/state-machine.ts).
 */
import type { Config, Entry } from './types.js';

/** Where a snapshot stands in the log: its last entry, that entry's epoch, and the configuration there. */
export interface SnapshotPosition {
  lastIndex: number;
  lastEpoch: number;
  config: Config;
}

/** The state machine's whole state as applied up to `lastIndex`, as bytes. */
export interface SnapshotImage extends SnapshotPosition {
  data: Buffer;
}

/**
 * One applied op with what applying it gave. `op` is undefined when the entry's
 * bytes are not an op this state machine can read: the outcome then refuses it,
 * the same on every replica (a leader's bug, or a log written by another
 * version, must not stop the replicas).
 */
export interface AppliedEntry<Op, Outcome> {
  op: Op | undefined;
  outcome: Outcome;
}

export interface StateMachine<Op, Outcome> {
  /** The bytes an `op` entry of the log carries for `op`. */
  encode(op: Op): Uint8Array;
  /**
   * Applies one committed `op` entry. Called in log order, once per index, within
   * the log storage's write batch (see LogStorage.write). Deterministic: the same
   * entries give the same state and outcomes on every replica. Never throws for
   * what the entry holds; a throw means the storage failed.
   */
  apply(entry: Entry): AppliedEntry<Op, Outcome>;
  /** A stable digest of the whole state, to compare replicas. */
  digest(): string;
  /**
   * An image of the applied state for a peer, at `position` or later (with the
   * position it was taken at). May take its time: the caller goes on meanwhile.
   */
  snapshot(position: SnapshotPosition): Promise<SnapshotImage>;
  /** Replaces the whole state with a snapshot's `data`, within the log storage's write batch. */
  restore(data: Buffer): void;
}
