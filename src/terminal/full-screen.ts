/**
 * The terminal around a full-screen Ink program (chat-tui, chat-ops watch): the
 * alternate screen, entered by hand (Ink 6 has no option for it), and restoring the
 * terminal on every way out (normal quit, Ctrl-C, SIGTERM/SIGHUP, uncaught errors).
 */

import { writeSync } from 'node:fs';

export const ENTER_ALT_SCREEN = '\x1b[?1049h';
export const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';
const HOME_AND_CLEAR = '\x1b[H\x1b[2J';
/** Bracketed paste (mode 2004): the terminal wraps a paste in ESC[200~ … ESC[201~. */
export const BRACKETED_PASTE_ON = '\x1b[?2004h';
export const BRACKETED_PASTE_OFF = '\x1b[?2004l';
/** xterm's title stack: save the window and icon titles, and restore them. */
const PUSH_TITLE = '\x1b[22;0t';
const POP_TITLE = '\x1b[23;0t';

export interface FullScreenOptions {
  /** Ask for pastes to be bracketed (the program must understand the markers). */
  bracketedPaste?: boolean;
  /** The program sets the terminal title: save it now, restore it when leaving. */
  title?: boolean;
}

export interface FullScreen {
  /** Leaves the alternate screen (once; later calls do nothing). */
  leave(): void;
}

function writeNow(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // The terminal is gone (hang-up): nothing left to restore.
  }
}

/**
 * Sets up this process for a full-screen Ink program on a terminal; call it before
 * React and Ink are first imported (they read the environment once, at import).
 *
 * - React's production build. The development build records every component render
 *   as a `performance.measure` entry, which Node keeps until cleared: a dashboard
 *   left open grew by ~1.3 MB a second and spent 10-25% of a core doing it.
 * - Live rendering whatever `CI` says. Ink draws nothing live when the environment
 *   says CI (`CI`, `CONTINUOUS_INTEGRATION`) and prints only the last frame at exit:
 *   a blank screen for someone whose shell exports CI=true.
 */
export function prepareTerminalRendering(env: NodeJS.ProcessEnv = process.env): void {
  env.NODE_ENV = 'production';
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
}

/**
 * Gives the terminal back: unmounts the Ink app (if it is still mounted), leaves
 * raw mode and the alternate screen. Safe to call more than once and on a terminal
 * that went away.
 */
export function restoreTerminal(ink: { unmount(): void } | undefined, screen: FullScreen): void {
  try {
    ink?.unmount();
  } catch {
    // Already unmounted.
  }
  try {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  } catch {
    // The terminal went away.
  }
  screen.leave();
}

/** Enters the alternate screen; leaving (and undoing `options`) is guaranteed at process exit even if `leave` is never called. */
export function enterFullScreen(fd = 1, options: FullScreenOptions = {}): FullScreen {
  writeNow(
    fd,
    (options.title ? PUSH_TITLE : '') +
      ENTER_ALT_SCREEN +
      HOME_AND_CLEAR +
      (options.bracketedPaste ? BRACKETED_PASTE_ON : ''),
  );
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    process.off('exit', leave);
    writeNow(
      fd,
      (options.bracketedPaste ? BRACKETED_PASTE_OFF : '') +
        SHOW_CURSOR +
        LEAVE_ALT_SCREEN +
        (options.title ? POP_TITLE : ''),
    );
  };
  process.on('exit', leave);
  return { leave };
}

export interface ExitGuards {
  remove(): void;
}

/**
 * Routes every abnormal way out through `fatal` (which restores the terminal and
 * exits): uncaught exceptions, unhandled rejections, and the signals that end a
 * terminal program.
 */
export function installExitGuards(fatal: (code: number, reason: string | undefined) => void): ExitGuards {
  const onError = (err: unknown) => fatal(1, err instanceof Error ? (err.stack ?? err.message) : String(err));
  const onSignal = (signal: NodeJS.Signals) => {
    const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129, SIGQUIT: 131 };
    fatal(codes[signal] ?? 1, signal === 'SIGINT' || signal === 'SIGTERM' ? undefined : `stopped by ${signal}`);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  for (const s of signals) process.on(s, onSignal);
  return {
    remove() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
