/** Bounded waiting for the ops tests: every wait ends with a clear failure instead of hanging. */

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `lastFrame()` satisfies `test`; the failure shows the last frame. */
export async function waitForFrame(lastFrame: () => string | undefined, what: string, test: (frame: string) => boolean, timeoutMs = 10_000): Promise<string> {
  try {
    return await waitFor(what, () => {
      const frame = lastFrame() ?? '';
      return test(frame) ? frame : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast frame:\n${lastFrame() ?? '(none)'}`);
  }
}
