/** Jittered exponential backoff, and sleeps that a close can cut short. */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 25, maxMs: 500, factor: 2 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay: full jitter between half and all of the exponential step. */
  next(): number {
    const { initialMs, maxMs, factor } = this.options;
    const step = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt += 1;
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Resolves after `ms`, or early (with false) when the signal aborts. The timer
 * keeps the process alive only with `keepAlive` (a retry someone awaits, unlike
 * a background reconnect: a program waiting on it must not exit meanwhile).
 */
export function sleep(ms: number, signal?: AbortSignal, keepAlive = false): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    if (!keepAlive) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
