/**
 * A one-line text editor as pure functions over `{ value, cursor }`: the compose box,
 * the sign-in fields and the dialogs all edit text through it. The cursor counts
 * grapheme clusters, so an emoji is one step.
 */

import { displayText, graphemes, graphemeWidth } from '../../terminal/text.js';

export interface LineState {
  /** The text as grapheme clusters. */
  chars: string[];
  /** 0..chars.length: the cursor sits before chars[cursor]. */
  cursor: number;
}

export type EditKey =
  | { type: 'insert'; text: string }
  | { type: 'backspace' }
  | { type: 'delete-forward' }
  | { type: 'left' }
  | { type: 'right' }
  | { type: 'home' }
  | { type: 'end' }
  | { type: 'word-left' }
  | { type: 'word-right' }
  | { type: 'kill-to-start' }
  | { type: 'kill-to-end' }
  | { type: 'kill-word' };

export const EMPTY_LINE: LineState = { chars: [], cursor: 0 };

export function lineFrom(text: string): LineState {
  const chars = graphemes(text);
  return { chars, cursor: chars.length };
}

export function lineText(state: LineState): string {
  return state.chars.join('');
}

const isSpace = (g: string | undefined) => g !== undefined && /^\s+$/u.test(g);

function wordStartBefore(chars: string[], cursor: number): number {
  let i = cursor;
  while (i > 0 && isSpace(chars[i - 1])) i--;
  while (i > 0 && !isSpace(chars[i - 1])) i--;
  return i;
}

function wordEndAfter(chars: string[], cursor: number): number {
  let i = cursor;
  while (i < chars.length && isSpace(chars[i])) i++;
  while (i < chars.length && !isSpace(chars[i])) i++;
  return i;
}

export function editLine(state: LineState, key: EditKey): LineState {
  const { chars, cursor } = state;
  switch (key.type) {
    case 'insert': {
      // Pasted newlines become spaces: the compose box is one line.
      const text = displayText(key.text.replace(/\r\n?|\n/g, ' '));
      if (!text) return state;
      const added = graphemes(text);
      return { chars: [...chars.slice(0, cursor), ...added, ...chars.slice(cursor)], cursor: cursor + added.length };
    }
    case 'backspace':
      if (cursor === 0) return state;
      return { chars: [...chars.slice(0, cursor - 1), ...chars.slice(cursor)], cursor: cursor - 1 };
    case 'delete-forward':
      if (cursor >= chars.length) return state;
      return { chars: [...chars.slice(0, cursor), ...chars.slice(cursor + 1)], cursor };
    case 'left':
      return { chars, cursor: Math.max(0, cursor - 1) };
    case 'right':
      return { chars, cursor: Math.min(chars.length, cursor + 1) };
    case 'home':
      return { chars, cursor: 0 };
    case 'end':
      return { chars, cursor: chars.length };
    case 'word-left':
      return { chars, cursor: wordStartBefore(chars, cursor) };
    case 'word-right':
      return { chars, cursor: wordEndAfter(chars, cursor) };
    case 'kill-to-start':
      return { chars: chars.slice(cursor), cursor: 0 };
    case 'kill-to-end':
      return { chars: chars.slice(0, cursor), cursor };
    case 'kill-word': {
      const start = wordStartBefore(chars, cursor);
      return { chars: [...chars.slice(0, start), ...chars.slice(cursor)], cursor: start };
    }
  }
}

/** The key names an Ink `useInput` handler sees, reduced to what the editor needs. */
export interface KeyLike {
  leftArrow: boolean;
  rightArrow: boolean;
  home: boolean;
  end: boolean;
  backspace: boolean;
  delete: boolean;
  ctrl: boolean;
  meta: boolean;
  return: boolean;
  escape: boolean;
  tab: boolean;
  upArrow: boolean;
  downArrow: boolean;
  pageUp: boolean;
  pageDown: boolean;
}

/**
 * The edit an Ink key press means, or undefined for keys the editor leaves to others
 * (Enter, Esc, Tab, arrows up and down, pages, other Ctrl chords).
 * Ink reports the Backspace key (DEL, 0x7f) as `delete`, so both erase backwards;
 * Ctrl-D erases forwards.
 */
export function editKeyFor(input: string, key: KeyLike): EditKey | undefined {
  if (key.return || key.escape || key.tab || key.upArrow || key.downArrow || key.pageUp || key.pageDown) return undefined;
  if (key.backspace || key.delete) return key.meta ? { type: 'kill-word' } : { type: 'backspace' };
  if (key.leftArrow) return key.ctrl || key.meta ? { type: 'word-left' } : { type: 'left' };
  if (key.rightArrow) return key.ctrl || key.meta ? { type: 'word-right' } : { type: 'right' };
  if (key.home) return { type: 'home' };
  if (key.end) return { type: 'end' };
  if (key.ctrl) {
    switch (input) {
      case 'a':
        return { type: 'home' };
      case 'e':
        return { type: 'end' };
      case 'b':
        return { type: 'left' };
      case 'f':
        return { type: 'right' };
      case 'd':
        return { type: 'delete-forward' };
      case 'u':
        return { type: 'kill-to-start' };
      case 'k':
        return { type: 'kill-to-end' };
      case 'w':
        return { type: 'kill-word' };
      default:
        return undefined;
    }
  }
  if (key.meta) {
    if (input === 'b') return { type: 'word-left' };
    if (input === 'f') return { type: 'word-right' };
    return undefined;
  }
  if (!input) return undefined;
  return { type: 'insert', text: input };
}

export interface LineView {
  /** Text left of the cursor, the character under it (a space at the end), and the rest. */
  before: string;
  atCursor: string;
  after: string;
  /** Text was cut off on the left / right. */
  clippedLeft: boolean;
  clippedRight: boolean;
}

/**
 * What fits in `width` columns with the cursor always visible: the window slides
 * so the cursor stays inside it. `mask` replaces every character (passwords).
 */
export function viewLine(state: LineState, width: number, mask?: string): LineView {
  const chars = mask === undefined ? state.chars : state.chars.map(() => mask);
  const w = Math.max(3, width);
  const widths = chars.map(graphemeWidth);
  const atEnd = state.cursor >= chars.length;
  const total = widths.reduce((a, b) => a + b, 0) + (atEnd ? 1 : 0);
  // When everything does not fit, one column on each side is kept for the clip marks.
  const room = total <= w ? w : w - 2;
  const cursorWidth = atEnd ? 1 : widths[state.cursor]!;
  // Start at the cursor and grow the window leftwards (what was just typed), then rightwards.
  let start = state.cursor;
  let used = cursorWidth;
  while (start > 0 && used + widths[start - 1]! <= room) {
    used += widths[start - 1]!;
    start--;
  }
  let end = Math.min(chars.length, state.cursor + 1);
  while (end < chars.length && used + widths[end]! <= room) {
    used += widths[end]!;
    end++;
  }
  return {
    before: chars.slice(start, state.cursor).join(''),
    atCursor: state.cursor < chars.length ? chars[state.cursor]! : ' ',
    after: chars.slice(state.cursor + 1, end).join(''),
    clippedLeft: start > 0,
    clippedRight: end < chars.length,
  };
}
