import { describe, expect, it } from 'vitest';
import { EMPTY_LINE, editKeyFor, editLine, lineFrom, lineText, viewLine, type KeyLike, type LineState } from '../../src/tui/state/line-editor.js';
import { displayText, fit, textWidth, truncate, wrap } from '../../src/terminal/text.js';
import { splitChunk } from '../../src/tui/keys.js';
import type { Key } from 'ink';

const NO_KEY: KeyLike = {
  leftArrow: false, rightArrow: false, home: false, end: false, backspace: false, delete: false, ctrl: false, meta: false,
  return: false, escape: false, tab: false, upArrow: false, downArrow: false, pageUp: false, pageDown: false,
};

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

describe('line editor', () => {
  const type = (state: LineState, text: string) => editLine(state, { type: 'insert', text });

  it('inserts at the cursor, erases, and moves by character and word', () => {
    let s = type(EMPTY_LINE, 'hello world');
    expect(lineText(s)).toBe('hello world');
    s = editLine(s, { type: 'word-left' });
    expect(s.cursor).toBe(6);
    s = type(s, 'big ');
    expect(lineText(s)).toBe('hello big world');
    s = editLine(s, { type: 'backspace' });
    expect(lineText(s)).toBe('hello bigworld');
    s = editLine(s, { type: 'kill-to-end' });
    expect(lineText(s)).toBe('hello big');
    s = editLine(s, { type: 'kill-word' });
    expect(lineText(s)).toBe('hello ');
    s = editLine(editLine(s, { type: 'home' }), { type: 'delete-forward' });
    expect(lineText(s)).toBe('ello ');
  });

  it('treats an emoji as one step and turns pasted newlines into spaces', () => {
    let s = lineFrom('a👍b');
    s = editLine(s, { type: 'left' });
    s = editLine(s, { type: 'backspace' });
    expect(lineText(s)).toBe('ab');
    expect(lineText(type(EMPTY_LINE, 'one\r\ntwo'))).toBe('one two');
  });

  it('maps Ink keys to edits and leaves navigation keys to the screens', () => {
    expect(editKeyFor('x', NO_KEY)).toEqual({ type: 'insert', text: 'x' });
    expect(editKeyFor('', { ...NO_KEY, delete: true })).toEqual({ type: 'backspace' });
    expect(editKeyFor('u', { ...NO_KEY, ctrl: true })).toEqual({ type: 'kill-to-start' });
    expect(editKeyFor('', { ...NO_KEY, return: true })).toBeUndefined();
    expect(editKeyFor('', { ...NO_KEY, pageUp: true })).toBeUndefined();
    expect(editKeyFor('n', { ...NO_KEY, ctrl: true })).toBeUndefined();
  });

  it('keeps the cursor visible in a window narrower than the text, and masks passwords', () => {
    const s = lineFrom('abcdefghijklmnopqrstuvwxyz');
    const v = viewLine(s, 10);
    expect(v.clippedLeft).toBe(true);
    expect(v.clippedRight).toBe(false);
    expect(v.before.endsWith('z')).toBe(true);
    expect(textWidth(v.before + v.atCursor + v.after) + 2).toBeLessThanOrEqual(10);
    const start = viewLine(editLine(s, { type: 'home' }), 10);
    expect(start.clippedLeft).toBe(false);
    expect(start.atCursor).toBe('a');
    expect(start.clippedRight).toBe(true);
    const masked = viewLine(lineFrom('secret'), 20, '•');
    expect(masked.before).toBe('••••••');
    expect(masked.before).not.toContain('s');
  });
});

describe('input chunks', () => {
  const plain = { ...NO_KEY, shift: false, super: false, hyper: false, capsLock: false, numLock: false } as Key;
  const names = (parts: [string, Key][]) =>
    parts.map(([input, key]) => (key.return ? '<enter>' : key.tab ? '<tab>' : key.delete ? '<bs>' : key.ctrl ? `<C-${input}>` : input));

  it('splits text typed together with Enter, Tab, Backspace and Ctrl chords into separate keys', () => {
    expect(names(splitChunk('hello\r', plain))).toEqual(['hello', '<enter>']);
    expect(names(splitChunk('\rnext line\r\n', plain))).toEqual(['<enter>', 'next line', '<enter>']);
    expect(names(splitChunk('ab\x7fc\tpw\x15', plain))).toEqual(['ab', '<bs>', 'c', '<tab>', 'pw', '<C-u>']);
  });

  it('leaves single keys and plain text alone', () => {
    expect(splitChunk('x', plain)).toEqual([['x', plain]]);
    expect(splitChunk('plain text', plain)).toEqual([['plain text', plain]]);
    const ctrl = { ...plain, ctrl: true };
    expect(splitChunk('u', ctrl)).toEqual([['u', ctrl]]);
  });
});
