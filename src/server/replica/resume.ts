import type { SnapshotPosition } from '../replication/state-machine.js';
import type { StoredLog } from '../replication/log-storage.js';
import type { Entry, LogBase, PersistedState } from '../replication/types.js';

export class StateBehindLogError extends Error {}

/**
 * Where the core resumes after a restart, from the log as stored and the state
 * machine's applied position, which are written separately: the state only
 * ever applies entries the log holds durably, so it is at most as far as the
 * log, except after a snapshot was installed (the state restored durably) and
 * the crash came before the log's new start was: then the log starts over at
 * the snapshot, keeping what follows it if it continues from there, and
 * `reset` says what the log must be told.
 */
export function resumePoint(
  log: StoredLog,
  applied: SnapshotPosition,
): { persisted: PersistedState; reset?: { base: LogBase; keep: Entry[] } } {
  const { base, entries, hard } = log;
  if (applied.lastIndex < base.index) {
    throw new StateBehindLogError(
      `the state has applied the log up to entry ${applied.lastIndex}, but the log begins after ${base.index}: the entries between are missing`,
    );
  }
  const lastIndex = base.index + entries.length;
  const at =
    applied.lastIndex > base.index && applied.lastIndex <= lastIndex
      ? entries[applied.lastIndex - base.index - 1]!
      : undefined;
  if (applied.lastIndex === base.index || at?.epoch === applied.lastEpoch) {
    return { persisted: { hard, base, entries, appliedIndex: applied.lastIndex } };
  }
  // The state is past the log or on another branch of it: a snapshot it never recorded the new start of.
  const start: LogBase = { index: applied.lastIndex, epoch: applied.lastEpoch, config: applied.config };
  return {
    persisted: { hard, base: start, entries: [], appliedIndex: applied.lastIndex },
    reset: { base: start, keep: [] },
  };
}
