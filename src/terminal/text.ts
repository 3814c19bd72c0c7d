/**
 * Terminal columns of text, for chat-tui and chat-ops alike: widths come from
 * string-width, the same package (and range) Ink lays its frames out with, so a
 * row padded here is exactly as wide as Ink draws it. Cutting and wrapping work
 * on grapheme clusters (Intl.Segmenter), so a keycap, a flag or a ZWJ emoji
 * sequence is never split.
 *
 * Text from the network is shown through `displayText` (or `oneLine`): control
 * characters cannot move the cursor and bidi controls cannot reorder the row.
 */

import stringWidth from 'string-width';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Bidirectional formatting characters: ALM, LRM, RLM, the embeddings and
 * overrides (LRE…RLO) and the isolates (LRI…PDI). In a terminal they reorder
 * what follows them on the row ("Trojan Source"), so they are never shown.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
/** C0 and C1 control characters except newline (tab is expanded before). */
const CONTROLS_BUT_NEWLINE = /[^\P{Cc}\n]/gu;
const CONTROLS = /\p{Cc}/gu;
const TAB = /\t/g;
/** A tab is shown as this many spaces (terminals' tab stops would not match our layout). */
export const TAB_SPACES = '    ';

export function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** Columns `text` takes in a terminal (as Ink measures it). */
export function textWidth(text: string): number {
  return stringWidth(text);
}

/** Columns one grapheme cluster takes. */
export function graphemeWidth(grapheme: string): number {
  return stringWidth(grapheme);
}

/** Without bidi controls. */
export function stripBidi(text: string): string {
  return text.replace(BIDI_CONTROLS, '');
}

/** Text as it may be shown on several rows: tabs as spaces, newlines kept, other controls and bidi controls dropped. */
export function displayText(text: string): string {
  return stripBidi(text).replace(TAB, TAB_SPACES).replace(CONTROLS_BUT_NEWLINE, '');
}

/** Text for one row: every control character (newlines and escape codes too) becomes a space, bidi controls go. */
export function oneLine(text: string): string {
  return stripBidi(text).replace(CONTROLS, ' ');
}

/** The longest prefix of `text` that fits in `width` columns, with `ellipsis` when something was cut. */
export function truncate(text: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  const room = width - textWidth(ellipsis);
  if (room < 0) return '';
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    if (used + w > room) break;
    out += g;
    used += w;
  }
  return out + ellipsis;
}

/** Pads with spaces (or truncates) to exactly `width` columns. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  const pad = ' '.repeat(Math.max(0, width - textWidth(cut)));
  return align === 'left' ? cut + pad : pad + cut;
}

/**
 * Wraps text to rows of at most `width` columns: at spaces where it can, inside
 * words longer than a row where it must, and at every newline. Blank lines and
 * leading indentation are kept; spaces that end a row are dropped.
 */
export function wrap(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) wrapParagraph(paragraph, w, lines);
  return lines;
}

function wrapParagraph(paragraph: string, width: number, out: string[]): void {
  if (paragraph === '') {
    out.push('');
    return;
  }
  const first = out.length;
  let line = '';
  let lineWidth = 0;
  const flush = () => {
    out.push(line.trimEnd());
    line = '';
    lineWidth = 0;
  };
  // Words keep their trailing spaces; leading spaces (indentation) are a word of their own.
  for (const word of paragraph.match(/\S+\s*|\s+/g) ?? [paragraph]) {
    const bare = word.trimEnd();
    const bareWidth = textWidth(bare);
    if (lineWidth + bareWidth > width && bareWidth <= width) flush();
    if (bareWidth <= width) {
      line += word;
      lineWidth += textWidth(word);
      if (lineWidth > width) flush(); // trailing spaces overflow: cut them at the edge
      continue;
    }
    // A word longer than a whole row: fill the current row, then break inside it.
    for (const g of graphemes(bare)) {
      const gw = graphemeWidth(g);
      if (lineWidth + gw > width) flush();
      line += g;
      lineWidth += gw;
    }
    const spaces = word.slice(bare.length);
    if (spaces && lineWidth + spaces.length <= width) {
      line += spaces;
      lineWidth += spaces.length;
    }
  }
  if (line !== '' || out.length === first) flush();
}
