import { Text } from '../../terminal/colors.js';
import { useMemo, useState } from 'react';
import { fit, textWidth, truncate, wrap } from '../../terminal/text.js';
import { commandId, commandsOf, keyLabel, SCOPE_TITLES } from '../commands.js';
import { useKeys } from '../keys.js';
import { Dialog, dialogColumns, dialogRows } from './Dialog.js';
import { theme } from './theme.js';

export interface HelpOverlayProps {
  width: number;
  height: number;
  onClose(): void;
}

type Line = { kind: 'title'; text: string } | { kind: 'key'; keys: string; does: string } | { kind: 'blank' };

/** Keys joined by ` / `, broken into rows between keys. */
function keyRows(keys: readonly string[], width: number): string[] {
  const rows: string[] = [];
  for (const k of keys) {
    const last = rows[rows.length - 1];
    if (last !== undefined && textWidth(`${last} / ${k}`) <= width) rows[rows.length - 1] = `${last} / ${k}`;
    else rows.push(last === undefined ? k : `/ ${k}`);
  }
  return rows;
}

/** The command table, by scope: every key chat-tui knows, keys and descriptions wrapped to their columns. */
function helpLines(keyWidth: number, doesWidth: number): Line[] {
  return SCOPE_TITLES.flatMap(([scope, title], i): Line[] => [
    ...(i > 0 ? [{ kind: 'blank' } as const] : []),
    { kind: 'title', text: title },
    ...commandsOf(scope).flatMap((cmd): Line[] => {
      const keys = keyRows(cmd.keys.map(keyLabel), keyWidth - 2);
      const does = wrap(cmd.does, doesWidth);
      return Array.from({ length: Math.max(keys.length, does.length) }, (_, j) => ({
        kind: 'key',
        keys: keys[j] ?? '',
        does: does[j] ?? '',
      }));
    }),
  ]);
}

/** Every key, by where it applies; scrolls when the terminal is short. */
export function HelpOverlay({ width, height, onClose }: HelpOverlayProps) {
  const rows = dialogRows(height);
  const cols = dialogColumns(width);
  const keyWidth = Math.min(30, Math.max(12, Math.floor(cols * 0.38)));
  const LINES = useMemo(() => helpLines(keyWidth, Math.max(1, cols - keyWidth - 1)), [keyWidth, cols]);
  const [top, setTop] = useState(0);
  const maxTop = Math.max(0, LINES.length - rows);
  useKeys(
    (press) => {
      const by = (n: number) => setTop((t) => Math.max(0, Math.min(maxTop, t + n)));
      switch (commandId(['help'], press)) {
        case 'close':
          return onClose();
        case 'move.down':
          return by(1);
        case 'move.up':
          return by(-1);
        case 'page.next':
          return by(rows - 1);
        case 'page.previous':
          return by(-(rows - 1));
        case 'first':
          return setTop(0);
        case 'newest':
          return setTop(maxTop);
      }
    },
    { singleKeys: true },
  );
  const start = Math.min(top, maxTop);
  const position =
    maxTop > 0 ? `${start + 1}-${Math.min(LINES.length, start + rows)} of ${LINES.length} · ↑↓ PgUp PgDn · ` : '';
  return (
    <Dialog title="Keys" hint={`${position}Esc closes`} width={width} height={height}>
      {LINES.slice(start, start + rows).map((line, i) =>
        line.kind === 'title' ? (
          <Text key={i} bold color={theme.accent} wrap="truncate">
            {truncate(line.text, cols)}
          </Text>
        ) : line.kind === 'key' ? (
          <Text key={i} wrap="truncate">
            <Text color={theme.badge}>{fit(`  ${line.keys}`, keyWidth)}</Text>{' '}
            {truncate(line.does, Math.max(1, cols - keyWidth - 1))}
          </Text>
        ) : (
          <Text key={i}> </Text>
        ),
      )}
    </Dialog>
  );
}
