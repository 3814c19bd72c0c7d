import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BRACKETED_PASTE_OFF,
  BRACKETED_PASTE_ON,
  ENTER_ALT_SCREEN,
  LEAVE_ALT_SCREEN,
  enterFullScreen,
  installExitGuards,
} from '../../src/terminal/full-screen.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A file to write the terminal's output to: its descriptor, and what was written so far. */
function capture(): { fd: number; written(): string } {
  const dir = mkdtempSync(join(tmpdir(), 'chat-tui-term-'));
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  cleanups.push(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { fd, written: () => readFileSync(file, 'utf8') };
}

describe('terminal', () => {
  it('enters the alternate screen, and leaves it once, also when the process exits', () => {
    const { fd, written: output } = capture();
    const before = process.listenerCount('exit');
    const screen = enterFullScreen(fd);
    expect(output().startsWith(ENTER_ALT_SCREEN)).toBe(true);
    // Until left, leaving is registered for process exit.
    expect(process.listenerCount('exit')).toBe(before + 1);
    screen.leave();
    screen.leave();
    const written = output();
    expect(written.split(LEAVE_ALT_SCREEN)).toHaveLength(2);
    expect(written.endsWith(LEAVE_ALT_SCREEN)).toBe(true);
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('turns bracketed paste on with the screen, and off again when leaving', () => {
    const { fd, written: output } = capture();
    const screen = enterFullScreen(fd, { bracketedPaste: true, title: true });
    expect(output()).toContain(BRACKETED_PASTE_ON);
    screen.leave();
    const written = output();
    // Off before the normal screen is back, and the saved title restored after it.
    expect(written.indexOf(BRACKETED_PASTE_OFF)).toBeLessThan(written.indexOf(LEAVE_ALT_SCREEN));
    expect(written.endsWith('\x1b[23;0t')).toBe(true);
  });

  it('routes uncaught errors, unhandled rejections and termination signals to one way out', () => {
    const calls: [number, string | undefined][] = [];
    const guards = installExitGuards((code, reason) => calls.push([code, reason]));
    cleanups.push(() => guards.remove());
    // As Node would call them (emitting does not raise anything or send a signal).
    const emit = process.emit.bind(process) as (event: string, ...args: unknown[]) => boolean;
    emit('uncaughtException', new Error('boom'), 'uncaughtException');
    emit('unhandledRejection', new Error('lost promise'), Promise.resolve());
    emit('SIGTERM', 'SIGTERM');
    emit('SIGHUP', 'SIGHUP');
    expect(calls.map(([code]) => code)).toEqual([1, 1, 143, 129]);
    expect(calls[0]![1]).toContain('boom');
    expect(calls[1]![1]).toContain('lost promise');
    expect(calls[2]![1]).toBeUndefined();
    guards.remove();
    emit('SIGTERM', 'SIGTERM');
    expect(calls).toHaveLength(4);
  });
});
