import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { oneLine, textWidth, truncate } from '../../terminal/text.js';
import type { ConversationEntry } from '../state/conversations.js';
import { badge } from '../state/format.js';
import { listWindow } from '../state/layout.js';
import { nameKey } from '../state/messages.js';
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
  now: number;
}

/** Rows per conversation: its name, then a preview of the last message. */
const ENTRY_ROWS = 2;

/** The last message in a few words: `you: …` for mine, `typing…` while the peer types. */
export function preview(entry: ConversationEntry, me: string, now: number): string {
  if (now < entry.typingUntil) return 'typing…';
  const last = entry.lastMessage;
  if (!last) return entry.peerDeleted ? 'account deleted' : 'no messages yet';
  const text = oneLine(last.text).replace(/\s+/g, ' ').trim();
  return nameKey(last.sender) === nameKey(me) && nameKey(last.recipient) !== nameKey(me) ? `you: ${text}` : text;
}

/** Conversations, unread ones first, with unread badges, online marks and the last message. */
export function ConversationList({
  entries,
  cursorKey,
  openKey,
  focused,
  width,
  rows,
  me,
  now,
}: ConversationListProps) {
  const cursor = Math.max(
    0,
    entries.findIndex((e) => nameKey(e.peer) === cursorKey),
  );
  const fits = Math.max(1, Math.floor(rows / ENTRY_ROWS));
  const { start, end } = listWindow(entries.length, fits, cursor);
  const unreadAbove = entries.slice(0, start).filter((e) => e.unread > 0).length;
  const unreadBelow = entries.slice(end).filter((e) => e.unread > 0).length;
  const more = [unreadAbove ? `↑${unreadAbove}` : '', unreadBelow ? `↓${unreadBelow}` : ''].filter(Boolean).join(' ');
  const title = truncate(
    `Conversations${entries.length ? ` ${entries.length}` : ''}`,
    Math.max(0, width - textWidth(more) - 1),
  );
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
        const label = key === nameKey(me) ? `${e.peer} (me)` : e.peer;
        const name = truncate(label, Math.max(1, width - 3 - textWidth(count)));
        const pad = ' '.repeat(Math.max(0, width - 3 - textWidth(name) - textWidth(count)));
        return (
          <Box key={key} flexDirection="column">
            <Text wrap="truncate" inverse={isCursor && focused}>
              <Text color={isCursor ? theme.accent : undefined}>{isCursor ? '▸' : isOpen ? '›' : ' '}</Text>
              {e.peerDeleted ? (
                <Text dimColor>✗</Text>
              ) : e.online ? (
                <Text color={theme.ok}>●</Text>
              ) : (
                <Text dimColor>○</Text>
              )}{' '}
              <Text bold={e.unread > 0 || isOpen} dimColor={e.peerDeleted} strikethrough={e.peerDeleted}>
                {name}
              </Text>
              {pad}
              <Text color={theme.badge} bold>
                {count}
              </Text>
            </Text>
            <Text wrap="truncate" dimColor={e.unread === 0} color={now < e.typingUntil ? theme.badge : undefined}>
              {'   '}
              {truncate(preview(e, me, now), Math.max(1, width - 3))}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}
