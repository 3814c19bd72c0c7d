/**
 * Messages this client is sending: shown at the end of their conversation while in
 * flight ("sending…") or after a final failure ("failed"), until the server's copy
 * (with its id) replaces them. A retry reuses the idempotency key, so the server
 * stores the message once however often it is retried. The server's copy is known
 * by that key: the send call's answer, or my own copy on the stream, which carries it.
 */

import type { ChatMessage } from '../../client/api.js';
import { nameKey } from './messages.js';

export type OutgoingState = 'queued' | 'sending' | 'failed';

export interface OutgoingMessage {
  /** The idempotency key; also the entry's identity. */
  key: string;
  peer: string;
  text: string;
  createdAt: number;
  state: OutgoingState;
  error?: string;
  /** The stream already delivered the stored copy (same key) before the send call answered. */
  deliveredId?: number;
}

export function enqueue(
  outbox: readonly OutgoingMessage[],
  message: Omit<OutgoingMessage, 'state'>,
): OutgoingMessage[] {
  return [...outbox, { ...message, state: 'queued' }];
}

export function setState(
  outbox: readonly OutgoingMessage[],
  key: string,
  state: OutgoingState,
  error?: string,
): OutgoingMessage[] {
  return outbox.map((m) => (m.key === key ? { ...m, state, error: state === 'failed' ? error : undefined } : m));
}

/** The entry is gone: its stored copy took its place, or it was discarded. */
export function settle(outbox: readonly OutgoingMessage[], key: string): OutgoingMessage[] {
  return outbox.filter((m) => m.key !== key);
}

/**
 * A message of mine arrived on the stream: the entry sent with its idempotency key
 * (if any) is hidden, so the message is not shown twice while the send call is
 * still answering. A copy without a key (the serving replica did not know it)
 * matches nothing; the send call's answer settles the entry.
 */
export function matchDelivered(outbox: readonly OutgoingMessage[], message: ChatMessage): OutgoingMessage[] {
  const key = message.idempotencyKey;
  if (key === undefined || !outbox.some((m) => m.key === key && m.deliveredId === undefined))
    return outbox as OutgoingMessage[];
  return outbox.map((m) => (m.key === key ? { ...m, deliveredId: message.id } : m));
}

/** The entries to show in a conversation: those not yet matched by a delivered message. */
export function visibleOutgoing(outbox: readonly OutgoingMessage[], peerKey: string): OutgoingMessage[] {
  return outbox.filter((m) => nameKey(m.peer) === peerKey && m.deliveredId === undefined);
}

/** Failed entries of a conversation (or the one with `key`) go back to the queue, keeping their keys. */
export function requeueFailed(outbox: readonly OutgoingMessage[], peerKey: string, key?: string): OutgoingMessage[] {
  return outbox.map((m) =>
    m.state === 'failed' && nameKey(m.peer) === peerKey && (key === undefined || m.key === key)
      ? { ...m, state: 'queued', error: undefined }
      : m,
  );
}
