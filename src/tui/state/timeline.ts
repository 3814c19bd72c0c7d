/**
 * The chat pane as rows of exactly one terminal line each: day separators, the
 * "new messages" line, messages wrapped to the pane's width (time and sender on
 * the first line, continuation lines indented, blank lines and indentation kept),
 * the delivery state of my own messages, and why a send failed (wrapped too).
 * The pane renders a window of these rows (see scroll.ts).
 */

import type { ChatMessage } from '../../client/api.js';
import { dayKey, formatClock, formatDay } from './format.js';
import { nameKey } from './messages.js';
import type { OutgoingMessage } from './outbox.js';
import { displayText, textWidth, truncate, wrap } from '../../terminal/text.js';

export type MessageRef = { kind: 'stored'; id: number } | { kind: 'outgoing'; key: string };

export type Delivery = 'sent' | 'queued' | 'sending' | 'failed';

export interface DayRow {
  kind: 'day';
  key: string;
  label: string;
}

/** Where the messages unread when the conversation was opened start. */
export interface MarkerRow {
  kind: 'marker';
  key: string;
  label: string;
}

export interface MessageRow {
  kind: 'message';
  key: string;
  ref: MessageRef;
  /** The first line shows the time and the sender; later lines leave them blank. */
  first: boolean;
  time: string;
  sender: string;
  own: boolean;
  text: string;
  /** On the last line of my own messages. */
  delivery: Delivery | undefined;
  /** When it was sent (or written, for one not stored yet). */
  at: number;
}

export interface FailureRow {
  kind: 'failure';
  key: string;
  ref: MessageRef;
  text: string;
}

export type TimelineRow = DayRow | MarkerRow | MessageRow | FailureRow;

export interface TimelineInput {
  messages: readonly ChatMessage[];
  outgoing: readonly OutgoingMessage[];
  me: string;
  peer: string;
  /** Columns of the pane. */
  width: number;
  /** Columns kept on the left for selection marks (0 outside selection mode). */
  gutter: number;
  now: number;
  /** The "new messages" line goes before this message. */
  marker?: { beforeId: number; count: number };
}

export interface TimelineColumns {
  gutter: number;
  time: number;
  sender: number;
  text: number;
  tail: number;
}

const TIME_WIDTH = 5;
const TAIL_WIDTH = 2;
const MAX_SENDER_WIDTH = 12;

/** How the pane's width is split: gutter, `HH:MM `, sender, text, delivery mark. */
export function timelineColumns(width: number, gutter: number, me: string, peer: string): TimelineColumns {
  const sender = Math.min(MAX_SENDER_WIDTH, Math.max(textWidth(me), textWidth(peer), 3));
  let text = width - gutter - (TIME_WIDTH + 1) - (sender + 1) - TAIL_WIDTH;
  if (text >= 12) return { gutter, time: TIME_WIDTH, sender, text, tail: TAIL_WIDTH };
  // Narrow: the sender column shrinks to three columns, then goes.
  const narrowSender = 3;
  text = width - gutter - (TIME_WIDTH + 1) - (narrowSender + 1) - TAIL_WIDTH;
  if (text >= 8) return { gutter, time: TIME_WIDTH, sender: narrowSender, text, tail: TAIL_WIDTH };
  return {
    gutter,
    time: TIME_WIDTH,
    sender: 0,
    text: Math.max(1, width - gutter - (TIME_WIDTH + 1) - TAIL_WIDTH),
    tail: TAIL_WIDTH,
  };
}

interface Item {
  ref: MessageRef;
  at: number;
  sender: string;
  own: boolean;
  text: string;
  delivery: Delivery | undefined;
  error?: string;
}

export function buildTimeline(input: TimelineInput): TimelineRow[] {
  const { me, peer, now } = input;
  const cols = timelineColumns(input.width, input.gutter, me, peer);
  const meKey = nameKey(me);
  const items: Item[] = [
    ...input.messages.map((m): Item => {
      const own = nameKey(m.sender) === meKey;
      return {
        ref: { kind: 'stored', id: m.id },
        at: m.sentAt,
        sender: m.sender,
        own,
        text: m.text,
        delivery: own ? 'sent' : undefined,
      };
    }),
    ...input.outgoing.map((o): Item => ({
      ref: { kind: 'outgoing', key: o.key },
      at: o.createdAt,
      sender: me,
      own: true,
      text: o.text,
      delivery: o.state,
      error: o.error,
    })),
  ];
  const rows: TimelineRow[] = [];
  let lastDay = '';
  for (const item of items) {
    const day = dayKey(item.at);
    if (day !== lastDay) {
      rows.push({ kind: 'day', key: `day:${day}:${refKey(item.ref)}`, label: formatDay(item.at, now) });
      lastDay = day;
    }
    if (input.marker && item.ref.kind === 'stored' && item.ref.id === input.marker.beforeId) {
      const n = input.marker.count;
      rows.push({ kind: 'marker', key: MARKER_KEY, label: n === 1 ? '1 new message' : `${n} new messages` });
    }
    const lines = wrap(displayText(item.text), cols.text);
    const base = refKey(item.ref);
    lines.forEach((text, i) => {
      rows.push({
        kind: 'message',
        key: `${base}:${i}`,
        ref: item.ref,
        first: i === 0,
        time: i === 0 ? formatClock(item.at) : '',
        sender: i === 0 && cols.sender > 0 ? truncate(item.sender, cols.sender) : '',
        own: item.own,
        text,
        delivery: i === lines.length - 1 ? item.delivery : undefined,
        at: item.at,
      });
    });
    if (item.delivery === 'failed') {
      const text = `failed${item.error ? `: ${item.error}` : ''} — Ctrl-R retries · v then e edits, d discards`;
      wrap(displayText(text), Math.max(1, cols.text + cols.tail)).forEach((line, i) => {
        rows.push({ kind: 'failure', key: `${base}:failed:${i}`, ref: item.ref, text: line });
      });
    }
  }
  return rows;
}

/** The key of the "new messages" row. */
export const MARKER_KEY = 'marker';

export function refKey(ref: MessageRef): string {
  return ref.kind === 'stored' ? `m${ref.id}` : `o${ref.key}`;
}

/** One message on screen: its first and last row, and when it was sent. */
export interface MessageSpan {
  ref: MessageRef;
  first: number;
  last: number;
  at: number;
  /** A message of mine that failed to send. */
  failed: boolean;
}

/** Every message's rows, in order (failure notes belong to theirs): what selection mode moves over. */
export function messageSpans(rows: readonly TimelineRow[]): MessageSpan[] {
  const spans: MessageSpan[] = [];
  rows.forEach((row, i) => {
    if (row.kind !== 'message' && row.kind !== 'failure') return;
    const last = spans[spans.length - 1];
    if (last && refKey(last.ref) === refKey(row.ref)) {
      last.last = i;
      if (row.kind === 'failure') last.failed = true;
    } else if (row.kind === 'message')
      spans.push({ ref: row.ref, first: i, last: i, at: row.at, failed: row.delivery === 'failed' });
  });
  return spans;
}
