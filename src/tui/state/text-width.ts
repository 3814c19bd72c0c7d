/**
 * Terminal column widths of text, and the truncation and wrapping built on them.
 * Wide (CJK, fullwidth) characters and emoji take two columns, combining marks none.
 * Everything here works on grapheme clusters, so an emoji sequence is never split.
 */

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const VARIATION_SELECTOR_EMOJI = '\uFE0F';
const REGIONAL_INDICATOR = /\p{Regional_Indicator}/u;

/** East Asian Wide and Fullwidth ranges (the ones terminals draw two columns wide). */
const WIDE_RANGES: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1b000, 0x1b2ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

function isWideCodePoint(cp: number): boolean {
  for (const [lo, hi] of WIDE_RANGES) {
    if (cp < lo) return false;
    if (cp <= hi) return true;
  }
  return false;
}

/** Columns one grapheme cluster takes in a terminal. */
export function graphemeWidth(grapheme: string): number {
  const first = grapheme.codePointAt(0);
  if (first === undefined) return 0;
  if (first < 0x20 || (first >= 0x7f && first < 0xa0)) return 0;
  if (first < 0x7f && grapheme.length === 1) return 1;
  if (REGIONAL_INDICATOR.test(grapheme)) return 2;
  if (PICTOGRAPHIC.test(grapheme) && (EMOJI_PRESENTATION.test(grapheme) || grapheme.includes(VARIATION_SELECTOR_EMOJI))) return 2;
  if (isWideCodePoint(first)) return 2;
  if (ZERO_WIDTH.test(String.fromCodePoint(first))) return 0;
  return 1;
}

export function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

export function textWidth(text: string): number {
  let width = 0;
  for (const g of segmenter.segment(text)) width += graphemeWidth(g.segment);
  return width;
}

/** Replaces tabs with spaces and drops control characters other than newlines, so text cannot move the cursor. */
export function sanitize(text: string): string {
  return text.replace(/\t/g, '    ').replace(/[^\P{Cc}\n]/gu, '');
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
 * Wraps text to lines of at most `width` columns: breaks at spaces where it can,
 * inside words longer than a line where it must, and at every newline.
 */
export function wrap(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of sanitize(text).split('\n')) {
    wrapParagraph(paragraph, w, lines);
  }
  return lines;
}

function wrapParagraph(paragraph: string, width: number, out: string[]): void {
  if (paragraph === '') {
    out.push('');
    return;
  }
  let line = '';
  let lineWidth = 0;
  // Words keep their trailing spaces; a space that does not fit at the end of a line is dropped.
  const words = paragraph.match(/\S+\s*|\s+/g) ?? [paragraph];
  for (const word of words) {
    const bare = word.trimEnd();
    const bareWidth = textWidth(bare);
    const fullWidth = textWidth(word);
    if (lineWidth + bareWidth <= width) {
      line += word;
      lineWidth += fullWidth;
      if (lineWidth > width) {
        // Trailing spaces overflow: cut them at the edge.
        out.push(line.trimEnd());
        line = '';
        lineWidth = 0;
      }
      continue;
    }
    if (bareWidth <= width) {
      out.push(line.trimEnd());
      line = word;
      lineWidth = fullWidth;
      if (lineWidth > width) {
        out.push(line.trimEnd());
        line = '';
        lineWidth = 0;
      }
      continue;
    }
    // A word longer than a whole line: fill the current line, then break inside it.
    for (const g of graphemes(bare)) {
      const gw = graphemeWidth(g);
      if (lineWidth + gw > width) {
        out.push(line.trimEnd());
        line = '';
        lineWidth = 0;
      }
      line += g;
      lineWidth += gw;
    }
    const spaces = word.slice(bare.length);
    if (spaces && lineWidth + textWidth(spaces) <= width) {
      line += spaces;
      lineWidth += textWidth(spaces);
    }
  }
  if (line !== '' || out.length === 0) out.push(line.trimEnd());
}
