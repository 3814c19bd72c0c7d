import { Box } from 'ink';
import { Text } from '../../terminal/colors.js';
import { fit, textWidth, truncate } from '../../terminal/text.js';
import type { ConversationEntry } from '../state/conversations.js';
import type { ScrollWindow } from '../state/scroll.js';
import type { TextState } from '../state/text-editor.js';
import { refKey, type TimelineColumns, type TimelineRow } from '../state/timeline.js';
import { ComposeBox } from './ComposeBox.js';
import { theme } from './theme.js';

export interface Selection {
  active: boolean;
  /** Ref key of the message under the cursor. */
  cursor: string | undefined;
  chosen: ReadonlySet<number>;
}

export interface ChatPaneProps {
  peer: ConversationEntry | undefined;
  rows: readonly TimelineRow[];
  window: ScrollWindow;
  columns: TimelineColumns;
  width: number;
  /** Rows of the message window. */
  height: number;
  loading: boolean;
  hasMore: boolean;
  selection: Selection;
  /** What the header says on the right in selection mode, e.g. the full date of the message under the cursor. */
  selectionNote: string | undefined;
  now: number;
  draft: TextState;
  /** The text the draft would send. */
  outgoing: string;
  composeRows: number;
  composeFocused: boolean;
}

const DELIVERY_MARK = { sent: ' ✓', queued: ' ⋯', sending: ' …', failed: ' ✗' } as const;
const DELIVERY_WORDS = { sent: ' ✓', queued: ' queued', sending: ' sending…', failed: ' ✗' } as const;
const DELIVERY_COLOR = { sent: theme.ok, queued: theme.warn, sending: theme.warn, failed: theme.error } as const;

/** The delivery state after a message: in words when the line has room, else as a mark. */
function deliveryLabel(delivery: keyof typeof DELIVERY_MARK, room: number): string {
  return textWidth(DELIVERY_WORDS[delivery]) <= room ? DELIVERY_WORDS[delivery] : DELIVERY_MARK[delivery];
}

/** A rule across the pane with a label in the middle. */
function Rule({ label, width, color }: { label: string; width: number; color?: string }) {
  const text = ` ${truncate(label, Math.max(1, width - 4))} `;
  const side = Math.max(0, Math.floor((width - textWidth(text)) / 2));
  return (
    <Text dimColor={!color} color={color} wrap="truncate">
      {'─'.repeat(side)}
      <Text bold>{text}</Text>
      {'─'.repeat(Math.max(0, width - side - textWidth(text)))}
    </Text>
  );
}

function Row({
  row,
  columns,
  width,
  selection,
}: {
  row: TimelineRow;
  columns: TimelineColumns;
  width: number;
  selection: Selection;
}) {
  if (row.kind === 'day') return <Rule label={row.label} width={width} />;
  if (row.kind === 'marker') return <Rule label={row.label} width={width} color={theme.badge} />;
  const indent = ' '.repeat(columns.gutter + columns.time + 1 + (columns.sender ? columns.sender + 1 : 0));
  const isCursor = selection.active && refKey(row.ref) === selection.cursor;
  if (row.kind === 'failure') {
    return (
      <Text wrap="truncate" color={theme.error} inverse={isCursor}>
        {indent}
        {row.text}
      </Text>
    );
  }
  const isChosen = row.ref.kind === 'stored' && selection.chosen.has(row.ref.id);
  const gutter = columns.gutter ? (isChosen ? '● ' : isCursor ? '▸ ' : '  ') : '';
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
      <Text color={isChosen ? theme.badge : undefined}>{row.text}</Text>
      {row.delivery ? (
        <Text color={DELIVERY_COLOR[row.delivery]}>
          {deliveryLabel(row.delivery, columns.text + columns.tail - textWidth(row.text))}
        </Text>
      ) : null}
    </Text>
  );
}

const EMPTY_PANE = [
  'No conversation open.',
  '',
  '↑ ↓ choose a conversation, Enter opens it',
  'Ctrl-K go to one by name, Alt-1…9 by place',
  'n  start a new conversation (account search)',
  'u  read unread messages',
  'c  cluster panel    ? every key',
];

/** The open conversation: a header, the visible window of its rows, and the compose box. */
export function ChatPane(props: ChatPaneProps) {
  const { peer, rows, window, columns, width, height, selection } = props;
  const total = height + 2 + props.composeRows;
  if (!peer) {
    return (
      <Box flexDirection="column" width={width} height={total}>
        <Text> </Text>
        {EMPTY_PANE.slice(0, Math.max(0, total - 1)).map((l, i) => (
          <Text key={i} dimColor={i > 0} bold={i === 0} wrap="truncate">
            {'  '}
            {truncate(l, width - 2)}
          </Text>
        ))}
      </Box>
    );
  }
  const visible = rows.slice(window.start, window.end);
  const padding = Math.max(0, height - visible.length);
  const typing = props.now < peer.typingUntil && !peer.peerDeleted;
  const presence = peer.peerDeleted ? 'account deleted' : typing ? 'typing…' : peer.online ? '● online' : 'offline';
  const notes: string[] = [];
  if (props.loading) notes.push('loading…');
  else if (window.above === 0 && props.hasMore) notes.push('PgUp loads older');
  if (window.below > 0) notes.push(`↓ ${window.below} more · End`);
  if (selection.active)
    notes.push(`${selection.chosen.size} selected${props.selectionNote ? ` · ${props.selectionNote}` : ''}`);
  const note = truncate(notes.join(' · '), Math.max(0, width - textWidth(presence) - 6));
  const title = truncate(peer.peer, Math.max(1, width - textWidth(note) - textWidth(presence) - 2));
  const gap = Math.max(1, width - textWidth(title) - 1 - textWidth(presence) - textWidth(note));
  return (
    <Box flexDirection="column" width={width} height={total}>
      <Text wrap="truncate">
        <Text bold color={theme.accent}>
          {title}
        </Text>{' '}
        <Text
          color={peer.peerDeleted ? theme.error : typing ? theme.badge : peer.online ? theme.ok : undefined}
          dimColor={!peer.online && !peer.peerDeleted && !typing}
        >
          {presence}
        </Text>
        {' '.repeat(gap)}
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
      <ComposeBox
        text={props.draft}
        outgoing={props.outgoing}
        width={width}
        rows={props.composeRows}
        focused={props.composeFocused}
        placeholder={peer.peerDeleted ? `${peer.peer} deleted the account` : `Enter or Tab to write to ${peer.peer}`}
      />
    </Box>
  );
}
