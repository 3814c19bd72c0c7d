/**
 * A wall clock with sub-millisecond resolution that different processes on one
 * machine agree on: the process's time origin (wall time at start) plus the
 * monotonic clock since. Load workers stamp sends and deliveries with it.
 */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

// Bounded waits are the process cluster's (one copy for the tests, the bench and the local runner).
export { sleep, waitUntil as waitFor, within } from '../../src/launch/process-cluster/wait.js';
