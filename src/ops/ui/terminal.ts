/**
 * The terminal around the dashboard: the alternate screen, entered by hand (Ink 6
 * has no option for it) and left on every way out — normal quit, signals,
 * uncaught errors and plain process exit.
 */
import { writeSync } from 'node:fs';

export const ENTER_ALT_SCREEN = '\x1b[?1049h';
export const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';
const HOME_AND_CLEAR = '\x1b[H\x1b[2J';

function writeNow(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // The terminal is gone: nothing left to restore.
  }
}

export interface AlternateScreen {
  /** Leaves the alternate screen; only the first call does anything. */
  leave(): void;
}

export function enterAlternateScreen(fd = 1): AlternateScreen {
  writeNow(fd, ENTER_ALT_SCREEN + HOME_AND_CLEAR);
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    process.off('exit', leave);
    writeNow(fd, SHOW_CURSOR + LEAVE_ALT_SCREEN);
  };
  process.on('exit', leave);
  return { leave };
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129, SIGQUIT: 131 };

/**
 * Sends every abnormal way out (uncaught exception, unhandled rejection, SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT) to `fatal`, which must restore the terminal and exit.
 */
export function onAbnormalExit(fatal: (code: number, reason: string | undefined) => void): () => void {
  const onError = (err: unknown) => fatal(1, err instanceof Error ? (err.stack ?? err.message) : String(err));
  const onSignal = (signal: NodeJS.Signals) => fatal(SIGNAL_EXIT[signal] ?? 1, signal === 'SIGINT' || signal === 'SIGTERM' ? undefined : `stopped by ${signal}`);
  const signals = Object.keys(SIGNAL_EXIT) as NodeJS.Signals[];
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  for (const s of signals) process.on(s, onSignal);
  return () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    for (const s of signals) process.off(s, onSignal);
  };
}
