import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import type { ConversationEntry } from '../state/conversations.js';
import type { LineState } from '../state/line-editor.js';
import type { ScrollWindow } from '../state/scroll.js';
import { fit, textWidth, truncate } from '../state/text-width.js';
import type { TimelineColumns, TimelineRow } from '../state/timeline.js';
import { LineField } from './LineField.js';
import { theme } from './theme.js';

export interface Selection {
  active: boolean;
  cursorId: number | undefined;
  selected: ReadonlySet<number>;
}

export interface ChatPaneProps {
  peer: ConversationEntry | undefined;
  me: string;
  rows: readonly TimelineRow[];
  window: ScrollWindow;
  columns: TimelineColumns;
  width: number;
  /** Rows of the message window. */
  height: number;
  loading: boolean;
  hasMore: boolean;
  selection: Selection;
  compose: LineState;
  composeFocused: boolean;
}

const DELIVERY_MARK = { sent: ' ✓', queued: ' ⋯', sending: ' …', failed: ' ✗' } as const;
const DELIVERY_WORDS = { sent: ' ✓', queued: ' queued', sending: ' sending…', failed: ' ✗' } as const;

/** The delivery state after a message: in words when the line has room, else as a mark. */
function deliveryLabel(delivery: keyof typeof DELIVERY_MARK, room: number): string {
  return textWidth(DELIVERY_WORDS[delivery]) <= room ? DELIVERY_WORDS[delivery] : DELIVERY_MARK[delivery];
}
const DELIVERY_COLOR = { sent: theme.ok, queued: theme.warn, sending: theme.warn, failed: theme.error } as const;

function Row({ row, columns, width, selection }: { row: TimelineRow; columns: TimelineColumns; width: number; selection: Selection }) {
  if (row.kind === 'day') {
    const label = ` ${row.label} `;
    const side = Math.max(0, Math.floor((width - textWidth(label)) / 2));
    return (
      <Text dimColor wrap="truncate">
        {'─'.repeat(side)}
        <Text bold>{label}</Text>
        {'─'.repeat(Math.max(0, width - side - textWidth(label)))}
      </Text>
    );
  }
  const indent = ' '.repeat(columns.gutter + columns.time + 1 + (columns.sender ? columns.sender + 1 : 0));
  if (row.kind === 'failure') {
    return (
      <Text wrap="truncate" color={theme.error}>
        {indent}
        {row.text}
      </Text>
    );
  }
  const id = row.ref.kind === 'stored' ? row.ref.id : undefined;
  const isCursor = selection.active && id !== undefined && id === selection.cursorId;
  const isSelected = id !== undefined && selection.selected.has(id);
  const gutter = columns.gutter ? (isSelected ? '● ' : isCursor ? '▸ ' : '  ') : '';
  return (
    <Text wrap="truncate" inverse={isCursor}>
      <Text color={theme.badge} bold>
        {gutter}
      </Text>
      <Text dimColor>{row.time ? row.time : ' '.repeat(columns.time)}</Text>{' '}
      {columns.sender ? (
        <>
          <Text color={row.own ? theme.own : theme.other} bold>
            {fit(row.sender, columns.sender)}
          </Text>{' '}
        </>
      ) : null}
      <Text color={isSelected ? theme.badge : undefined}>{row.text}</Text>
      {row.delivery ? <Text color={DELIVERY_COLOR[row.delivery]}>{deliveryLabel(row.delivery, columns.text + columns.tail - textWidth(row.text))}</Text> : null}
    </Text>
  );
}

/** The open conversation: a header, the visible window of its rows, and the compose box. */
export function ChatPane(props: ChatPaneProps) {
  const { peer, rows, window, columns, width, height, selection } = props;
  if (!peer) {
    const lines = [
      'No conversation open.',
      '',
      '↑ ↓ choose a conversation, Enter opens it',
      'n  start a new conversation (account search)',
      'u  read unread messages',
      'c  cluster panel    ? every key',
    ];
    return (
      <Box flexDirection="column" width={width} height={height + 3}>
        <Text> </Text>
        {lines.slice(0, Math.max(0, height)).map((l, i) => (
          <Text key={i} dimColor={i > 0} bold={i === 0} wrap="truncate">
            {'  '}
            {truncate(l, width - 2)}
          </Text>
        ))}
        {Array.from({ length: Math.max(0, height - lines.length) }, (_, i) => (
          <Text key={`pad${i}`}> </Text>
        ))}
        <Text dimColor>{'─'.repeat(width)}</Text>
        <Text> </Text>
      </Box>
    );
  }
  const visible = rows.slice(window.start, window.end);
  const padding = Math.max(0, height - visible.length);
  const presence = peer.peerDeleted ? 'account deleted' : peer.online ? 'online' : 'offline';
  const notes: string[] = [];
  if (props.loading) notes.push('loading…');
  else if (window.above === 0 && props.hasMore) notes.push('PgUp loads older');
  if (window.below > 0) notes.push(`↓ ${window.below} more · End`);
  if (selection.active) notes.push(`${selection.selected.size} selected`);
  const note = notes.join(' · ');
  const title = truncate(peer.peer, Math.max(1, width - textWidth(note) - textWidth(presence) - 4));
  return (
    <Box flexDirection="column" width={width} height={height + 3}>
      <Text wrap="truncate">
        <Text bold color={theme.accent}>
          {title}
        </Text>{' '}
        <Text color={peer.peerDeleted ? theme.error : peer.online ? theme.ok : undefined} dimColor={!peer.online && !peer.peerDeleted}>
          {peer.online && !peer.peerDeleted ? '● ' : ''}
          {presence}
        </Text>
        {' '.repeat(Math.max(1, width - textWidth(title) - textWidth(presence) - (peer.online && !peer.peerDeleted ? 2 : 0) - 1 - textWidth(note)))}
        <Text color={selection.active ? theme.badge : theme.warn}>{note}</Text>
      </Text>
      {Array.from({ length: padding }, (_, i) =>
        i === padding - 1 && visible.length === 0 ? (
          <Text key={`pad${i}`} dimColor wrap="truncate">
            {truncate(props.loading ? '' : '  No messages yet. Say hello.', width)}
          </Text>
        ) : (
          <Text key={`pad${i}`}> </Text>
        ),
      )}
      {visible.map((row) => (
        <Row key={row.key} row={row} columns={columns} width={width} selection={selection} />
      ))}
      <Text color={props.composeFocused ? theme.accent : undefined} dimColor={!props.composeFocused}>
        {'─'.repeat(width)}
      </Text>
      <Box>
        <Text color={props.composeFocused ? theme.accent : undefined} bold>
          {'› '}
        </Text>
        <LineField
          state={props.compose}
          width={Math.max(3, width - 2)}
          focused={props.composeFocused}
          placeholder={peer.peerDeleted ? `${peer.peer} deleted the account` : `Enter or Tab to write to ${peer.peer}`}
        />
      </Box>
    </Box>
  );
}
