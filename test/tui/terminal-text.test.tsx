/**
 * The shared text-width module (src/terminal/text.ts) against the string-width
 * Ink itself lays frames out with: equal on every assigned code point, and rows
 * padded with it keep bordered boxes straight.
 */

import { Box, Text } from 'ink';
import { render } from 'ink-testing-library';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { displayText, fit, graphemes, oneLine, textWidth, truncate, wrap } from '../../src/terminal/text.js';
import { fit as opsFit, truncate as opsTruncate, width as opsWidth } from '../../src/ops/model/text.js';
import { stripAnsi } from './support.js';

/** The string-width module Ink resolves (not necessarily the one this project resolves). */
async function inkStringWidth(): Promise<(text: string) => number> {
  const fromInk = createRequire(createRequire(import.meta.url).resolve('ink'));
  const module = (await import(pathToFileURL(fromInk.resolve('string-width')).href)) as {
    default: (text: string) => number;
  };
  return module.default;
}

const UNASSIGNED = /\p{Cn}/u;

describe('text width', () => {
  it('agrees with the string-width Ink lays out with on every assigned code point', async () => {
    const inkWidth = await inkStringWidth();
    const disagreements: string[] = [];
    let checked = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (UNASSIGNED.test(ch)) continue;
      checked++;
      if (textWidth(ch) !== inkWidth(ch) && disagreements.length < 20)
        disagreements.push(`U+${cp.toString(16).toUpperCase()}`);
    }
    expect(checked).toBeGreaterThan(280_000);
    expect(disagreements).toEqual([]);
  });

  it('measures keycaps, CJK, ZWJ emoji, flags and halfwidth kana as terminals draw them', async () => {
    const inkWidth = await inkStringWidth();
    const samples = ['1️⃣', '#️⃣', '日本語', '👨‍👩‍👧', '🏳️‍🌈', '🇫🇷', 'ｶﾞｷﾞ', 'ﾊﾟ', '☰', '🈁', 'e\u0301', '한국어'];
    for (const s of samples) expect(textWidth(s), s).toBe(inkWidth(s));
    expect(textWidth('1️⃣')).toBe(2);
    expect(textWidth('ｶﾞ')).toBe(2);
    expect(graphemes('a1️⃣👨‍👩‍👧ｶﾞ')).toEqual(['a', '1️⃣', '👨‍👩‍👧', 'ｶﾞ']);
  });

  it('never splits a grapheme when cutting or wrapping', () => {
    expect(truncate('ab1️⃣cd', 4)).toBe('ab…');
    expect(truncate('👨‍👩‍👧👨‍👩‍👧', 3)).toBe('👨‍👩‍👧…');
    for (const line of wrap('1️⃣2️⃣3️⃣ 日本語の ｶﾞｷﾞｸﾞ 👨‍👩‍👧👨‍👩‍👧', 5)) expect(textWidth(line)).toBeLessThanOrEqual(5);
  });

  it('keeps blank lines and indentation when wrapping', () => {
    expect(wrap('first\n\n    indented\n\tlast', 20)).toEqual(['first', '', '    indented', '\tlast']);
    expect(wrap(displayText('a\n\n\tb'), 20)).toEqual(['a', '', '    b']);
  });

  it('drops bidi controls and control characters from displayed text', () => {
    // An RLO would show "evil.exe" as "exe.live" and reorder the rest of the row.
    expect(displayText('file\u202Eexe.live\u202C ok')).toBe('fileexe.live ok');
    expect(displayText('\u2066isolated\u2069 \u200Fmark\u061C')).toBe('isolated mark');
    expect(displayText('a\x1b[2Jb\r\nc')).toBe('a[2Jb\nc');
    expect(oneLine('a\nb\u202Ec\x07')).toBe('a bc ');
  });
});

describe('chat-ops cells', () => {
  it('count terminal columns, not code points', () => {
    expect(opsWidth('日本')).toBe(4);
    expect(opsFit('日本', 6)).toBe('日本  ');
    expect(opsTruncate('ｶﾞｷﾞｸﾞ', 5)).toBe('ｶﾞｷﾞ…');
    expect(opsFit('a\nb\u202Ec', 5)).toBe('a bc ');
  });
});

describe('bordered boxes', () => {
  const rows = ['keycaps 1️⃣2️⃣#️⃣', 'CJK 日本語の文', 'ZWJ 👨‍👩‍👧 and 🏳️‍🌈', 'kana ｶﾞｷﾞｸﾞﾊﾟ', 'mixed a☰b🈁c한'];

  it('keeps every row and the right border in place', async () => {
    const inkWidth = await inkStringWidth();
    const inner = 20;
    const { lastFrame, unmount } = render(
      <Box flexDirection="column" width={inner + 4} borderStyle="round" paddingX={1}>
        {rows.map((r) => (
          <Text key={r} wrap="truncate">
            {fit(r, inner)}
          </Text>
        ))}
        {rows.map((r) => (
          <Text key={`${r}-cut`} wrap="truncate">
            {fit(r.repeat(3), inner)}
          </Text>
        ))}
      </Box>,
    );
    const lines = stripAnsi(lastFrame() ?? '').split('\n');
    unmount();
    expect(lines).toHaveLength(rows.length * 2 + 2);
    for (const line of lines) expect(inkWidth(line), line).toBe(inner + 4);
    for (const line of lines.slice(1, -1)) {
      expect(line.startsWith('│'), line).toBe(true);
      expect(line.endsWith('│'), line).toBe(true);
    }
    // Nothing was cut or wrapped by Ink: each row shows what was fitted.
    for (const r of rows)
      expect(
        lines.some((l) => l.includes(r)),
        r,
      ).toBe(true);
  });
});
