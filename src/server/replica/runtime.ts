/**
 * The clock and timers a replica driver runs on: Node's by default, a virtual
 * clock in the simulator (test/replication/), which so runs the real driver
 * deterministically.
 */
export type TimerHandle = { readonly timer: unknown };

export interface DriverRuntime {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Runs `fn` after what the event loop has already waiting (I/O callbacks included). */
  setImmediate(fn: () => void): void;
}

export const nodeRuntime: DriverRuntime = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => ({ timer: setTimeout(fn, ms) }),
  clearTimeout: (handle) => clearTimeout(handle.timer as NodeJS.Timeout),
  setImmediate: (fn) => {
    setImmediate(fn);
  },
};
