import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { textWidth, truncate, wrap } from '../../terminal/text.js';
import { MAX_FOOTER_ROWS } from '../state/layout.js';
import type { Notice } from '../state/controls.js';
import { theme, toneColor } from './theme.js';

/** A notice as the footer shows it: wrapped to the width, on at most MAX_FOOTER_ROWS rows. */
export function noticeRows(text: string, width: number): string[] {
  const rows = wrap(text, Math.max(1, width));
  if (rows.length <= MAX_FOOTER_ROWS) return rows;
  return [...rows.slice(0, MAX_FOOTER_ROWS - 1), truncate(rows.slice(MAX_FOOTER_ROWS - 1).join(' '), width)];
}

/** As many key hints as fit in `width`, in order; the last one (help) is kept whenever any fits. */
export function fittingHints(pairs: readonly [string, string][], width: number): [string, string][] {
  const cost = (p: readonly [string, string]) => textWidth(p[0]) + 1 + textWidth(p[1]) + 3;
  const last = pairs[pairs.length - 1];
  if (!last) return [];
  let used = cost(last);
  const out: [string, string][] = [];
  for (const p of pairs.slice(0, -1)) {
    if (used + cost(p) > width) break;
    out.push(p);
    used += cost(p);
  }
  return used <= width + 3 ? [...out, last] : out;
}

/** The bottom of the main screen: a notice (wrapped, never cut) or the key hints of the focus. */
export function Footer({
  notice,
  hints,
  width,
}: {
  notice: Notice | undefined;
  hints: readonly [string, string][];
  width: number;
}) {
  if (notice) {
    return (
      <Box flexDirection="column">
        {noticeRows(notice.text, width).map((row, i) => (
          <Text key={i} wrap="truncate" color={toneColor(notice.tone) ?? undefined} dimColor={notice.tone === 'muted'}>
            {row}
          </Text>
        ))}
      </Box>
    );
  }
  return (
    <Text wrap="truncate">
      {fittingHints(hints, width).map(([k, label], i) => (
        <Text key={k}>
          {i > 0 ? <Text dimColor> · </Text> : null}
          <Text color={theme.badge}>{k}</Text>
          <Text dimColor> {label}</Text>
        </Text>
      ))}
    </Text>
  );
}
