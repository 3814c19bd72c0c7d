import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { displayText, fit, textWidth, truncate, wrap } from '../../src/terminal/text.js';
import { NO_KEY, type KeyPress } from '../../src/tui/commands.js';
import { splitChunk } from '../../src/tui/keys.js';
import { editFor } from '../../src/tui/state/controls.js';
import {
  EMPTY_TEXT,
  editText,
  insertable,
  layoutRows,
  moveVertically,
  textFrom,
  textOf,
  viewLine,
  viewRows,
  type TextState,
} from '../../src/tui/state/text-editor.js';

describe('text width', () => {
  it('counts wide characters and emoji as two columns and combining marks as none', () => {
    expect(textWidth('abc')).toBe(3);
    expect(textWidth('日本')).toBe(4);
    expect(textWidth('👍')).toBe(2);
    expect(textWidth('e\u0301')).toBe(1);
    expect(textWidth('👨‍👩‍👧')).toBe(2);
  });

  it('truncates to the width with an ellipsis and never splits a wide character', () => {
    expect(truncate('hello world', 8)).toBe('hello w…');
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('日本語テキスト', 6)).toBe('日本…');
    expect(textWidth(truncate('日本語テキスト', 6))).toBeLessThanOrEqual(6);
    expect(fit('ab', 4)).toBe('ab  ');
    expect(fit('ab', 4, 'right')).toBe('  ab');
  });

  it('wraps at spaces, breaks words longer than a line, and keeps newlines', () => {
    expect(wrap('the quick brown fox', 10)).toEqual(['the quick', 'brown fox']);
    expect(wrap('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
    expect(wrap('one\ntwo', 10)).toEqual(['one', 'two']);
    expect(wrap('', 10)).toEqual(['']);
    for (const line of wrap('日本語のテキストを折り返す', 7)) expect(textWidth(line)).toBeLessThanOrEqual(7);
  });

  it('drops control characters so message text cannot move the cursor', () => {
    expect(displayText('a\x1b[2Jb\tc')).toBe('a[2Jb    c');
  });
});

describe('text editor', () => {
  const type = (state: TextState, text: string) => editText(state, { type: 'insert', text });
  const press = (input: string, key: Partial<Key> = {}): KeyPress => ({ input, key: { ...NO_KEY, ...key } });

  it('inserts at the cursor, erases, and moves by character and word', () => {
    let s = type(EMPTY_TEXT, 'hello world');
    expect(textOf(s)).toBe('hello world');
    s = editText(s, { type: 'word-left' });
    expect(s.cursor).toBe(6);
    s = type(s, 'big ');
    expect(textOf(s)).toBe('hello big world');
    s = editText(s, { type: 'backspace' });
    expect(textOf(s)).toBe('hello bigworld');
    s = editText(s, { type: 'kill-word' });
    expect(textOf(s)).toBe('hello world');
    s = editText(editText(s, { type: 'home' }), { type: 'delete-forward' });
    expect(textOf(s)).toBe('ello world');
  });

  it('treats an emoji as one step; one-line fields turn pasted line breaks into spaces, the compose box keeps them', () => {
    let s = textFrom('a👍b');
    s = editText(s, { type: 'left' });
    s = editText(s, { type: 'backspace' });
    expect(textOf(s)).toBe('ab');
    expect(insertable('one\r\ntwo\rthree', false)).toBe('one two three');
    expect(insertable('one\r\ntwo\rthree\tx', true)).toBe('one\ntwo\nthree    x');
  });

  it('edits lines: Home, End and Ctrl-U act on the line of the cursor; up and down keep the column', () => {
    let s = textFrom('first line\nsecond');
    s = editText(s, { type: 'home' });
    expect(s.cursor).toBe(11);
    s = editText(editText(s, { type: 'end' }), { type: 'kill-to-start' });
    expect(textOf(s)).toBe('first line\n');
    s = type(s, 'xy');
    const up = moveVertically(s, 40, -1)!;
    expect(up.cursor).toBe(2);
    expect(moveVertically(up, 40, -1)).toBeUndefined();
    expect(moveVertically(s, 40, 1)).toBeUndefined();
    // A long line wraps into rows of the box: up and down move between them.
    const long = textFrom('abcdefghij');
    expect(layoutRows(long.chars, 5)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
    expect(moveVertically(long, 5, -1)!.cursor).toBe(6);
    const view = viewRows(long, 5, 2);
    expect(view.above).toBe(1);
    expect(view.rows.map((r) => r.before + (r.atCursor ?? '') + r.after)).toEqual(['efgh', 'ij ']);
  });

  it('maps keys to edits through the command table and leaves the rest to the screens', () => {
    expect(editFor(press('x'), false)).toEqual({ type: 'insert', text: 'x' });
    expect(editFor(press('', { delete: true }), false)).toEqual({ type: 'backspace' });
    expect(editFor(press('u', { ctrl: true }), false)).toEqual({ type: 'kill-to-start' });
    expect(editFor(press('b', { meta: true }), false)).toEqual({ type: 'word-left' });
    expect(editFor(press('', { return: true }), false)).toBeUndefined();
    expect(editFor(press('', { pageUp: true }), false)).toBeUndefined();
    expect(editFor(press('n', { ctrl: true }), false)).toBeUndefined();
    expect(editFor({ ...press('a\rb'), paste: true }, true)).toEqual({ type: 'insert', text: 'a\nb' });
  });

  it('keeps the cursor visible in a window narrower than the text, and masks passwords', () => {
    const s = textFrom('abcdefghijklmnopqrstuvwxyz');
    const v = viewLine(s, 10);
    expect(v.clippedLeft).toBe(true);
    expect(v.clippedRight).toBe(false);
    expect(v.before.endsWith('z')).toBe(true);
    expect(textWidth(v.before + v.atCursor + v.after) + 2).toBeLessThanOrEqual(10);
    const start = viewLine(editText(s, { type: 'home' }), 10);
    expect(start.clippedLeft).toBe(false);
    expect(start.atCursor).toBe('a');
    expect(start.clippedRight).toBe(true);
    const masked = viewLine(textFrom('secret'), 20, '•');
    expect(masked.before).toBe('••••••');
    expect(masked.before).not.toContain('s');
  });
});

describe('input chunks', () => {
  const plain = { ...NO_KEY };
  const names = (parts: KeyPress[]) =>
    parts.map(({ input, key }) =>
      key.return ? '<enter>' : key.tab ? '<tab>' : key.delete ? '<bs>' : key.ctrl ? `<C-${input}>` : input,
    );

  it('splits text typed together with Enter, Tab, Backspace and Ctrl chords into separate keys', () => {
    expect(names(splitChunk('hello\r', plain))).toEqual(['hello', '<enter>']);
    expect(names(splitChunk('\rnext line\r\n', plain))).toEqual(['<enter>', 'next line', '<enter>']);
    expect(names(splitChunk('ab\x7fc\tpw\x15', plain))).toEqual(['ab', '<bs>', 'c', '<tab>', 'pw', '<C-u>']);
  });

  it('takes a lone line feed for Ctrl-J, and leaves single keys and plain text alone', () => {
    expect(names(splitChunk('\n', plain))).toEqual(['<C-j>']);
    expect(names(splitChunk('line\nmore', plain))).toEqual(['line', '<C-j>', 'more']);
    expect(splitChunk('x', plain)).toEqual([{ input: 'x', key: plain }]);
    expect(splitChunk('plain text', plain)).toEqual([{ input: 'plain text', key: plain }]);
    const ctrl = { ...plain, ctrl: true };
    expect(splitChunk('u', ctrl)).toEqual([{ input: 'u', key: ctrl }]);
  });
});
