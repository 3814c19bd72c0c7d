/** Bounded waiting for the ops tests: every wait ends with a clear failure instead of hanging. */
import { waitUntil } from '../support/cluster.js';

export function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  return waitUntil(what, timeoutMs, probe, everyMs);
}

/** Waits until `lastFrame()` satisfies `test`; the failure shows the last frame. */
export async function waitForFrame(
  lastFrame: () => string | undefined,
  what: string,
  test: (frame: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  try {
    return await waitFor(
      what,
      () => {
        const frame = lastFrame() ?? '';
        return test(frame) ? frame : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast frame:\n${lastFrame() ?? '(none)'}`);
  }
}
