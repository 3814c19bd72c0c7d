import { Text } from '../../terminal/colors.js';
import { useEffect, useRef, useState } from 'react';
import { useRefState } from '../hooks.js';
import type { ChatApi, ChatMessage } from '../../client/api.js';
import { errorText } from '../errors.js';
import { plural } from '../state/format.js';
import { scrollBy, scrollToShow, resolveScroll, FOLLOW, type Scroll } from '../state/scroll.js';
import { fit, textWidth, truncate } from '../state/text-width.js';
import { buildTimeline, refKey, timelineColumns } from '../state/timeline.js';
import { Dialog, dialogColumns, dialogRows } from './Dialog.js';
import { theme } from './theme.js';
import { useKeys } from '../keys.js';

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
  const rows = dialogRows(height) - 1;
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

  const longest = messages.reduce((a, m) => (textWidth(m.sender) > textWidth(a) ? m.sender : a), me);
  const timeline = buildTimeline({ messages, outgoing: [], me, peer: longest, width: cols, gutter: 0, now });
  const keys = timeline.map((r) => r.key);
  const senderWidth = timelineColumns(cols, 0, me, longest).sender;

  // A new batch scrolls so its first message is at the top.
  useEffect(() => {
    if (firstNew === undefined) return;
    const first = keys.findIndex((k) => k.startsWith(`${refKey({ kind: 'stored', id: firstNew })}:`));
    if (first >= 0) setScroll(scrollToShow(keys, rows, { follow: false, anchor: keys[first]!, top: first }, Math.max(0, first - 1), Math.max(0, first - 1)));
    setFirstNew(undefined);
  }, [firstNew, keys.length]);

  useKeys((input, key) => {
    if (key.escape || input === 'q') onClose();
    else if (key.return || input === ' ') {
      if (remainingRef.current === undefined || remainingRef.current > 0) void fetchBatch();
    } else if (key.downArrow || input === 'j') setScroll((s) => scrollBy(keys, rows, s, 1));
    else if (key.upArrow || input === 'k') setScroll((s) => scrollBy(keys, rows, s, -1));
    else if (key.pageDown) setScroll((s) => scrollBy(keys, rows, s, rows - 1));
    else if (key.pageUp) setScroll((s) => scrollBy(keys, rows, s, -(rows - 1)));
    else if (key.end) setScroll(FOLLOW);
  }, { singleKeys: true });

  const window = resolveScroll(keys, rows, scroll);
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
  return (
    <Dialog title={`Unread messages, ${batchSize} at a time`} hint="Esc closes" width={width} height={height}>
      <Text wrap="truncate" color={error ? theme.error : remaining ? theme.badge : theme.ok}>
        {truncate(status, cols)}
      </Text>
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
