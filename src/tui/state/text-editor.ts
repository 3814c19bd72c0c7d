/**
 * A text editor as pure functions over `{ chars, cursor }`: the compose box
 * (several lines) and every one-line field (sign-in, search, dialogs) edit
 * through it. The cursor counts grapheme clusters, so an emoji or a keycap is
 * one step; '\n' is a grapheme of its own and breaks the line.
 */

import { displayText, graphemes, graphemeWidth, TAB_SPACES } from '../../terminal/text.js';

export interface TextState {
  /** The text as grapheme clusters. */
  chars: string[];
  /** 0..chars.length: the cursor sits before chars[cursor]. */
  cursor: number;
}

export type EditKey =
  | { type: 'insert'; text: string }
  | { type: 'newline' }
  | { type: 'backspace' }
  | { type: 'delete-forward' }
  | { type: 'left' }
  | { type: 'right' }
  | { type: 'home' }
  | { type: 'end' }
  | { type: 'word-left' }
  | { type: 'word-right' }
  | { type: 'kill-to-start' }
  | { type: 'kill-word' };

export const EMPTY_TEXT: TextState = { chars: [], cursor: 0 };

export function textFrom(text: string): TextState {
  const chars = graphemes(text);
  return { chars, cursor: chars.length };
}

export function textOf(state: TextState): string {
  return state.chars.join('');
}

/**
 * What typed or pasted text becomes in a field: line breaks kept as '\n' where
 * the field has several lines (else spaces), tabs as spaces, other control and
 * bidi control characters dropped.
 */
export function insertable(text: string, multiline: boolean): string {
  const lines = text.replace(/\r\n?/g, '\n');
  return displayText(multiline ? lines : lines.replace(/\n/g, ' ')).replace(/\t/g, TAB_SPACES);
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

/** Where the line holding the cursor starts and ends (indexes into chars; the end is the '\n' or the text's end). */
function lineAround(chars: string[], cursor: number): { start: number; end: number } {
  let start = cursor;
  while (start > 0 && chars[start - 1] !== '\n') start--;
  let end = cursor;
  while (end < chars.length && chars[end] !== '\n') end++;
  return { start, end };
}

export function editText(state: TextState, key: EditKey): TextState {
  const { chars, cursor } = state;
  const line = () => lineAround(chars, cursor);
  switch (key.type) {
    case 'insert': {
      if (!key.text) return state;
      const added = graphemes(key.text);
      return { chars: [...chars.slice(0, cursor), ...added, ...chars.slice(cursor)], cursor: cursor + added.length };
    }
    case 'newline':
      return { chars: [...chars.slice(0, cursor), '\n', ...chars.slice(cursor)], cursor: cursor + 1 };
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
      return { chars, cursor: line().start };
    case 'end':
      return { chars, cursor: line().end };
    case 'word-left':
      return { chars, cursor: wordStartBefore(chars, cursor) };
    case 'word-right':
      return { chars, cursor: wordEndAfter(chars, cursor) };
    case 'kill-to-start': {
      const start = line().start;
      return { chars: [...chars.slice(0, start), ...chars.slice(cursor)], cursor: start };
    }
    case 'kill-word': {
      const start = wordStartBefore(chars, cursor);
      return { chars: [...chars.slice(0, start), ...chars.slice(cursor)], cursor: start };
    }
  }
}

/** One screen row of a text laid out in a box: chars[start, end) (without the '\n' that may end it). */
export interface TextRow {
  start: number;
  end: number;
}

/**
 * The text's screen rows in a box `width` columns wide: a row ends at a '\n' or
 * when the next grapheme would not fit (a soft wrap: the next row starts where
 * it ends). The last column is kept free for the cursor at the end of a line.
 */
export function layoutRows(chars: readonly string[], width: number): TextRow[] {
  const room = Math.max(1, width - 1);
  const rows: TextRow[] = [];
  let start = 0;
  let used = 0;
  for (let i = 0; i < chars.length; i++) {
    const g = chars[i]!;
    if (g === '\n') {
      rows.push({ start, end: i });
      start = i + 1;
      used = 0;
      continue;
    }
    const w = graphemeWidth(g);
    if (used + w > room && i > start) {
      rows.push({ start, end: i });
      start = i;
      used = 0;
    }
    used += w;
  }
  rows.push({ start, end: chars.length });
  return rows;
}

/** The row the cursor is on: the last row starting at or before it (a soft-wrapped row's end is the next row's start). */
export function cursorRow(rows: readonly TextRow[], cursor: number): number {
  let r = 0;
  for (let i = 0; i < rows.length; i++) if (rows[i]!.start <= cursor) r = i;
  return r;
}

function columnsBetween(chars: readonly string[], from: number, to: number): number {
  let w = 0;
  for (let i = from; i < to; i++) w += graphemeWidth(chars[i]!);
  return w;
}

/**
 * The cursor one screen row up (-1) or down (+1), at the same column as far as
 * the row allows; undefined on the first row going up or the last going down
 * (the compose box then browses the input history).
 */
export function moveVertically(state: TextState, width: number, direction: -1 | 1): TextState | undefined {
  const rows = layoutRows(state.chars, width);
  const r = cursorRow(rows, state.cursor);
  const target = rows[r + direction];
  if (!target) return undefined;
  const column = columnsBetween(state.chars, rows[r]!.start, state.cursor);
  let cursor = target.start;
  let used = 0;
  while (cursor < target.end && used + graphemeWidth(state.chars[cursor]!) <= column) {
    used += graphemeWidth(state.chars[cursor]!);
    cursor++;
  }
  return { chars: state.chars, cursor };
}

export interface RowView {
  /** Text of the row left of the cursor, under it (a space at a row's end), and the rest; `atCursor` undefined on rows without the cursor. */
  before: string;
  atCursor: string | undefined;
  after: string;
}

/**
 * The rows of a text box `width` wide and at most `height` tall, scrolled so
 * the cursor's row is visible; `above`/`below` count the rows out of view.
 */
export function viewRows(
  state: TextState,
  width: number,
  height: number,
): { rows: RowView[]; above: number; below: number } {
  const rows = layoutRows(state.chars, width);
  const at = cursorRow(rows, state.cursor);
  const h = Math.max(1, height);
  const first = Math.max(0, Math.min(at - h + 1, rows.length - h));
  const shown = rows.slice(first, first + h);
  return {
    rows: shown.map((row, i) => {
      const text = (from: number, to: number) => state.chars.slice(from, to).join('');
      if (first + i !== at) return { before: text(row.start, row.end), atCursor: undefined, after: '' };
      const onChar = state.cursor < row.end;
      return {
        before: text(row.start, state.cursor),
        atCursor: onChar ? state.chars[state.cursor]! : ' ',
        after: onChar ? text(state.cursor + 1, row.end) : '',
      };
    }),
    above: first,
    below: Math.max(0, rows.length - first - h),
  };
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
 * A one-line field `width` columns wide with the cursor always visible: the
 * window slides so the cursor stays inside it. `mask` replaces every character
 * (passwords).
 */
export function viewLine(state: TextState, width: number, mask?: string): LineView {
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
