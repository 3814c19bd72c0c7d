import type { WriteDurability } from '../replication/log-storage.js';
import type { Action } from '../replication/types.js';

/**
 * How durable the writes of one pass's actions must be, or undefined when they
 * write nothing. Log entries, truncations, hard state and installed snapshots
 * must be on disk before anyone hears of them (acks and promises count on
 * them): `synced`. A pass that only applies committed entries or compacts is
 * `unsynced`: a crash that loses it means applying the same entries again from
 * the log, with the same results.
 */
export function durabilityOf(actions: readonly Action[]): WriteDurability | undefined {
  let writes = false;
  let synced = false;
  for (const a of actions) {
    if (a.type === 'persist' || a.type === 'apply' || a.type === 'compact' || a.type === 'installSnapshot') writes = true;
    if ((a.type === 'persist' && (a.entries.length > 0 || a.truncateFrom !== undefined || a.hard)) || a.type === 'installSnapshot') synced = true;
  }
  if (!writes) return undefined;
  return synced ? 'synced' : 'unsynced';
}
