/**
 * A private tmux server (its own socket, no user config) for running the built
 * chat-tui in real pseudo-terminals: start programs, type, read the screen.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export const TMUX = process.env.TMUX_BIN ?? 'tmux';

export function tmuxAvailable(): boolean {
  try {
    execFileSync(TMUX, ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class TmuxServer {
  readonly socket = `chat-tui-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  private started = false;

  run(args: string[]): string {
    return execFileSync(TMUX, ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
  }

  /**
   * Starts `argv` in a new detached session of the given size, under a shell that
   * prints `[exited <status>]` when it ends (the pane then shows what the program
   * left on the normal screen, and its status).
   */
  start(session: string, argv: string[], env: Record<string, string>, columns = 80, rows = 24): void {
    // CI=true as in a shell that exports it (and as CI runs the suite): Ink renders nothing live when
    // it sees it, so the programs must take a terminal for interactive whatever the variable says.
    const program = ['env', 'CI=true', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]
      .map(shellQuote)
      .join(' ');
    const command = `${program}; echo "[exited $?]"; sleep 600`;
    this.run(['new-session', '-d', '-s', session, '-x', String(columns), '-y', String(rows), command]);
    this.started = true;
  }

  /** The visible screen as plain text. */
  screen(session: string): string {
    return this.run(['capture-pane', '-p', '-t', session]);
  }

  /** Types text literally. */
  type(session: string, text: string): void {
    this.run(['send-keys', '-t', session, '-l', text]);
  }

  /** Pastes text as a terminal does (bracketed, when the program asked for it; line breaks as CR). */
  paste(session: string, text: string): void {
    const buffer = `paste-${randomBytes(3).toString('hex')}`;
    this.run(['set-buffer', '-b', buffer, text]);
    this.run(['paste-buffer', '-p', '-d', '-b', buffer, '-t', session]);
  }

  /** Presses named keys (tmux names: Enter, Escape, PageUp, C-c, M-Enter, ...). */
  keys(session: string, ...keys: string[]): void {
    this.run(['send-keys', '-t', session, ...keys]);
  }

  format(session: string, format: string): string {
    return this.run(['display-message', '-p', '-t', session, format]).trim();
  }

  alternateScreen(session: string): boolean {
    return this.format(session, '#{alternate_on}') === '1';
  }

  /** Undefined while the program runs; its exit status (128 + n after signal n) once it has exited. */
  exitStatus(session: string): string | undefined {
    return /\[exited (\d+)\]/.exec(this.screen(session))?.[1];
  }

  /** The program's process id (the child of the pane's shell). */
  pid(session: string): number {
    const shell = Number(this.format(session, '#{pane_pid}'));
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === shell) return Number(entry);
      } catch {
        // Gone meanwhile.
      }
    }
    throw new Error(`no program running in ${session}`);
  }

  kill(): void {
    if (!this.started) return;
    try {
      this.run(['kill-server']);
    } catch {
      // Already gone.
    }
  }
}
