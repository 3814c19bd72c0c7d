import { Text } from '../../terminal/colors.js';
import { useEffect, useRef, useState } from 'react';
import { useRefState } from '../hooks.js';
import type { ChatApi, ChatMessage } from '../../client/api.js';
import { errorText } from '../errors.js';
import { plural } from '../state/format.js';
import { scrollBy, scrollToShow, resolveScroll, FOLLOW, type Scroll } from '../state/scroll.js';
import { fit, textWidth, truncate, wrap } from '../../terminal/text.js';
import { buildTimeline, refKey, timelineColumns } from '../state/timeline.js';
import { Dialog, dialogColumns, dialogRows } from './Dialog.js';
import { theme } from './theme.js';
import { Wrapped } from './Wrapped.js';
import { useKeys } from '../keys.js';
import { commandId } from '../commands.js';

export interface InboxDialogProps {
  chat: ChatApi;
  me: string;
  /** N: how many unread messages one step fetches. */
  batchSize: number;
  width: number;
  height: number;
  now: number;
  /** Each fetched batch (the server has marked it read). */
  onFetched(messages: ChatMessage[]): void;
  onClose(): void;
}

/** Reads unread messages N at a time, oldest first, across all conversations. */
export function InboxDialog({ chat, me, batchSize, width, height, now, onFetched, onClose }: InboxDialogProps) {
  const cols = dialogColumns(width);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [remaining, setRemaining, remainingRef] = useRefState<number | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [scroll, setScroll] = useState<Scroll>(FOLLOW);
  const [firstNew, setFirstNew] = useState<number | undefined>(undefined);
  const busy = useRef(false);

  const fetchBatch = async () => {
    if (busy.current) return;
    busy.current = true;
    setLoading(true);
    setError(undefined);
    try {
      const result = await chat.fetchUnread(batchSize);
      setMessages((old) => {
        const seen = new Set(old.map((m) => m.id));
        return [...old, ...result.messages.filter((m) => !seen.has(m.id))];
      });
      setFirstNew(result.messages[0]?.id);
      setRemaining(result.remaining);
      if (result.messages.length) onFetched(result.messages);
    } catch (err) {
      setError(errorText(err));
    } finally {
      busy.current = false;
      setLoading(false);
    }
  };

  useEffect(() => {
    void fetchBatch();
    // Fetch the first batch once, on opening.
  }, []);

  const status = error
    ? `✗ ${error}`
    : loading
      ? 'fetching…'
      : remaining === undefined
        ? ''
        : remaining > 0
          ? `${plural(messages.length, 'message')} read here · ${remaining} still unread · Enter reads the next ${Math.min(batchSize, remaining)}`
          : messages.length
            ? `${plural(messages.length, 'message')} read here · no more unread`
            : 'No unread messages.';
  const statusRows = Math.min(3, wrap(status || ' ', cols).length);
  const rows = Math.max(1, dialogRows(height) - statusRows);
  const longest = messages.reduce((a, m) => (textWidth(m.sender) > textWidth(a) ? m.sender : a), me);
  const timeline = buildTimeline({ messages, outgoing: [], me, peer: longest, width: cols, gutter: 0, now });
  const keys = timeline.map((r) => r.key);
  const senderWidth = timelineColumns(cols, 0, me, longest).sender;

  // A new batch scrolls so its first message is at the top.
  useEffect(() => {
    if (firstNew === undefined) return;
    const first = keys.findIndex((k) => k.startsWith(`${refKey({ kind: 'stored', id: firstNew })}:`));
    if (first >= 0)
      setScroll(
        scrollToShow(
          keys,
          rows,
          { follow: false, anchor: keys[first]!, top: first },
          Math.max(0, first - 1),
          Math.max(0, first - 1),
        ),
      );
    setFirstNew(undefined);
  }, [firstNew, keys.length]);

  useKeys(
    (press) => {
      switch (commandId(['inbox'], press)) {
        case 'close':
          return onClose();
        case 'accept':
          if (remainingRef.current === undefined || remainingRef.current > 0) void fetchBatch();
          return;
        case 'move.down':
          return setScroll((s) => scrollBy(keys, rows, s, 1));
        case 'move.up':
          return setScroll((s) => scrollBy(keys, rows, s, -1));
        case 'page.next':
          return setScroll((s) => scrollBy(keys, rows, s, rows - 1));
        case 'page.previous':
          return setScroll((s) => scrollBy(keys, rows, s, -(rows - 1)));
        case 'newest':
          return setScroll(FOLLOW);
      }
    },
    { singleKeys: true },
  );

  const window = resolveScroll(keys, rows, scroll);
  return (
    <Dialog title={`Unread messages, ${batchSize} at a time`} hint="Esc closes" width={width} height={height}>
      <Wrapped
        text={status || ' '}
        width={cols}
        color={error ? theme.error : remaining ? theme.badge : theme.ok}
        maxRows={3}
      />
      {timeline.slice(window.start, window.end).map((row) =>
        row.kind === 'day' ? (
          <Text key={row.key} dimColor bold wrap="truncate">
            {truncate(`── ${row.label} ──`, cols)}
          </Text>
        ) : row.kind === 'message' ? (
          <Text key={row.key} wrap="truncate">
            <Text dimColor>{row.time || '     '}</Text>{' '}
            {senderWidth ? (
              <>
                <Text color={theme.other} bold>
                  {fit(row.sender, senderWidth)}
                </Text>{' '}
              </>
            ) : null}
            {row.text}
          </Text>
        ) : null,
      )}
    </Dialog>
  );
}
