import { Text } from '../../terminal/colors.js';
import { useRef, useState } from 'react';
import { truncate } from '../../terminal/text.js';
import { commandId } from '../commands.js';
import { useKeys } from '../keys.js';
import { editFor } from '../state/controls.js';
import type { ConversationEntry } from '../state/conversations.js';
import { badge } from '../state/format.js';
import { fuzzyFilter } from '../state/fuzzy.js';
import { EMPTY_TEXT, editText, textOf, type TextState } from '../state/text-editor.js';
import { Dialog, dialogColumns, dialogRows } from './Dialog.js';
import { LabeledField } from './LineField.js';
import { theme } from './theme.js';

export interface SwitcherDialogProps {
  /** Conversations in list order. */
  entries: readonly ConversationEntry[];
  width: number;
  height: number;
  onOpen(peer: string): void;
  onClose(): void;
}

/** Go to a conversation by typing a few letters of the name (fuzzy: in order, not necessarily together). */
export function SwitcherDialog({ entries, width, height, onOpen, onClose }: SwitcherDialogProps) {
  const cols = dialogColumns(width);
  const rows = Math.max(1, dialogRows(height) - 2);
  const [query, setQuery] = useState<TextState>(EMPTY_TEXT);
  const [cursor, setCursor] = useState(0);
  const matches = fuzzyFilter(entries, textOf(query), (e) => e.peer);
  // Keys may come faster than renders: they act on what the key before left.
  const latest = useRef({ query, cursor, matches });
  latest.current = { query, cursor, matches };
  useKeys((press) => {
    const { query, cursor, matches } = latest.current;
    switch (commandId(['switcher'], press)) {
      case 'close':
        return onClose();
      case 'accept': {
        const chosen = matches[Math.min(cursor, matches.length - 1)];
        if (chosen) onOpen(chosen.peer);
        return;
      }
      case 'move.up':
        return setCursor(Math.max(0, cursor - 1));
      case 'move.down':
        return setCursor(Math.min(Math.max(0, matches.length - 1), cursor + 1));
    }
    const edit = editFor(press, false);
    if (!edit) return;
    const next = editText(query, edit);
    latest.current = { ...latest.current, query: next, cursor: 0 };
    setQuery(next);
    setCursor(0);
  });
  const at = Math.min(cursor, Math.max(0, matches.length - 1));
  const start = Math.max(0, Math.min(at - rows + 1, matches.length - rows));
  return (
    <Dialog
      title="Go to a conversation"
      hint="letters of the name, in order · Enter opens · Esc closes"
      width={width}
      height={height}
    >
      <LabeledField label="Name  " state={query} width={cols} />
      <Text dimColor wrap="truncate">
        {truncate(
          matches.length === 0
            ? entries.length
              ? 'no conversation matches · Esc, then n searches every account'
              : 'no conversations yet · Esc, then n starts one'
            : `${matches.length} of ${entries.length}`,
          cols,
        )}
      </Text>
      {matches.slice(Math.max(0, start), Math.max(0, start) + rows).map((e, i) => {
        const selected = Math.max(0, start) + i === at;
        return (
          <Text key={e.peer} wrap="truncate" inverse={selected}>
            {selected ? '▸ ' : '  '}
            {e.online ? <Text color={theme.ok}>●</Text> : <Text dimColor>○</Text>} {truncate(e.peer, cols - 10)}
            {e.unread > 0 ? (
              <Text color={theme.badge} bold>
                {' '}
                {badge(e.unread)}
              </Text>
            ) : null}
          </Text>
        );
      })}
    </Dialog>
  );
}
