import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import type { ConversationEntry } from '../state/conversations.js';
import { badge } from '../state/format.js';
import { listWindow } from '../state/layout.js';
import { nameKey } from '../state/messages.js';
import { fit, textWidth, truncate } from '../state/text-width.js';
import { theme } from './theme.js';

export interface ConversationListProps {
  entries: readonly ConversationEntry[];
  cursorKey: string | undefined;
  openKey: string | undefined;
  focused: boolean;
  width: number;
  /** Rows for entries (the title takes one more). */
  rows: number;
  me: string;
}

/** Conversations, unread ones first, with unread badges and online marks. */
export function ConversationList({ entries, cursorKey, openKey, focused, width, rows, me }: ConversationListProps) {
  const cursor = Math.max(0, entries.findIndex((e) => nameKey(e.peer) === cursorKey));
  const { start, end } = listWindow(entries.length, rows, cursor);
  const unreadAbove = entries.slice(0, start).filter((e) => e.unread > 0).length;
  const unreadBelow = entries.slice(end).filter((e) => e.unread > 0).length;
  const more = [unreadAbove ? `↑${unreadAbove}` : '', unreadBelow ? `↓${unreadBelow}` : ''].filter(Boolean).join(' ');
  const title = truncate(`Conversations${entries.length ? ` ${entries.length}` : ''}`, Math.max(0, width - textWidth(more) - 1));
  return (
    <Box flexDirection="column" width={width} height={rows + 1}>
      <Text wrap="truncate">
        <Text bold color={focused ? theme.accent : undefined} underline={focused}>
          {title}
        </Text>
        {' '.repeat(Math.max(1, width - textWidth(title) - textWidth(more)))}
        <Text color={theme.badge} bold>
          {more}
        </Text>
      </Text>
      {entries.length === 0 ? (
        <Text dimColor wrap="truncate">
          {truncate('none yet · n: new', width)}
        </Text>
      ) : null}
      {entries.slice(start, end).map((e) => {
        const key = nameKey(e.peer);
        const isCursor = key === cursorKey;
        const isOpen = key === openKey;
        const count = e.unread > 0 ? ` ${badge(e.unread)}` : '';
        const nameRoom = Math.max(1, width - 3 - textWidth(count));
        const label = key === nameKey(me) ? `${e.peer} (me)` : e.peer;
        const name = fit(label, nameRoom);
        return (
          <Text key={key} wrap="truncate" inverse={isCursor && focused}>
            <Text color={isCursor ? theme.accent : undefined}>{isCursor ? '▸' : isOpen ? '›' : ' '}</Text>
            {e.peerDeleted ? <Text dimColor>✗</Text> : e.online ? <Text color={theme.ok}>●</Text> : <Text dimColor>○</Text>}{' '}
            <Text bold={e.unread > 0 || isOpen} dimColor={e.peerDeleted} strikethrough={e.peerDeleted}>
              {name}
            </Text>
            <Text color={theme.badge} bold>
              {count}
            </Text>
          </Text>
        );
      })}
    </Box>
  );
}
