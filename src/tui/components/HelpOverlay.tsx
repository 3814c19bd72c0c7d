import { Text } from '../../terminal/colors.js';
import { useState } from 'react';
import { KEYMAP } from '../keymap.js';
import { fit, truncate } from '../state/text-width.js';
import { Dialog, dialogColumns, dialogRows } from './Dialog.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';

export interface HelpOverlayProps {
  width: number;
  height: number;
  onClose(): void;
}

type Line = { kind: 'title'; text: string } | { kind: 'key'; keys: string; does: string } | { kind: 'blank' };

const LINES: Line[] = KEYMAP.flatMap((section, i): Line[] => [
  ...(i > 0 ? [{ kind: 'blank' } as const] : []),
  { kind: 'title', text: section.title },
  ...section.keys.map((k): Line => ({ kind: 'key', keys: k.keys, does: k.does })),
]);

/** Every key, by context; scrolls when the terminal is short. */
export function HelpOverlay({ width, height, onClose }: HelpOverlayProps) {
  const rows = dialogRows(height);
  const cols = dialogColumns(width);
  const [top, setTop] = useState(0);
  const maxTop = Math.max(0, LINES.length - rows);
  useKeys((input, key) => {
    if (key.escape || input === '?' || input === 'q' || key.return) onClose();
    else if (key.downArrow || input === 'j') setTop((t) => Math.min(maxTop, t + 1));
    else if (key.upArrow || input === 'k') setTop((t) => Math.max(0, t - 1));
    else if (key.pageDown || input === ' ') setTop((t) => Math.min(maxTop, t + rows - 1));
    else if (key.pageUp) setTop((t) => Math.max(0, t - rows + 1));
    else if (key.home) setTop(0);
    else if (key.end) setTop(maxTop);
  }, { singleKeys: true });
  const start = Math.min(top, maxTop);
  const keyWidth = Math.min(28, Math.max(12, Math.floor(cols * 0.36)));
  const position = maxTop > 0 ? `${start + 1}-${Math.min(LINES.length, start + rows)} of ${LINES.length} · ↑↓ PgUp PgDn · ` : '';
  return (
    <Dialog title="Keys" hint={`${position}Esc closes`} width={width} height={height}>
      {LINES.slice(start, start + rows).map((line, i) =>
        line.kind === 'title' ? (
          <Text key={i} bold color={theme.accent} wrap="truncate">
            {truncate(line.text, cols)}
          </Text>
        ) : line.kind === 'key' ? (
          <Text key={i} wrap="truncate">
            <Text color={theme.badge}>{fit(`  ${line.keys}`, keyWidth)}</Text> {truncate(line.does, Math.max(1, cols - keyWidth - 1))}
          </Text>
        ) : (
          <Text key={i}> </Text>
        ),
      )}
    </Dialog>
  );
}
