/**
 * Messages this client is sending: shown at the end of their conversation while in
 * flight ("sending…") or after a final failure ("failed"), until the server's copy
 * (with its id) replaces them. A retry reuses the idempotency key, so the server
 * stores the message once however often it is retried.
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
  /** Set when the real-time stream already delivered this message (same peer and text), before the send call answered. */
  deliveredId?: number;
}

export function enqueue(outbox: readonly OutgoingMessage[], message: Omit<OutgoingMessage, 'state'>): OutgoingMessage[] {
  return [...outbox, { ...message, state: 'queued' }];
}

export function setState(outbox: readonly OutgoingMessage[], key: string, state: OutgoingState, error?: string): OutgoingMessage[] {
  // A failure un-hides an entry matched to a delivered message: the match was a guess
  // (same peer and text); a retry with the same key settles it either way.
  return outbox.map((m) =>
    m.key === key ? { ...m, state, error: state === 'failed' ? error : undefined, deliveredId: state === 'failed' ? undefined : m.deliveredId } : m,
  );
}

/** The send call answered: the entry is gone, the stored message takes its place. */
export function settle(outbox: readonly OutgoingMessage[], key: string): OutgoingMessage[] {
  return outbox.filter((m) => m.key !== key);
}

/**
 * A message of mine arrived on the stream. If an entry in flight to the same peer
 * with the same text has not been matched yet, it is this one: hide the entry so
 * the message is not shown twice while the send call is still answering.
 */
export function matchDelivered(outbox: readonly OutgoingMessage[], message: ChatMessage, me: string): OutgoingMessage[] {
  if (nameKey(message.sender) !== nameKey(me)) return outbox as OutgoingMessage[];
  if (outbox.some((m) => m.deliveredId === message.id)) return outbox as OutgoingMessage[];
  const i = outbox.findIndex(
    (m) => m.deliveredId === undefined && m.state !== 'failed' && nameKey(m.peer) === nameKey(message.recipient) && m.text === message.text,
  );
  if (i < 0) return outbox as OutgoingMessage[];
  return outbox.map((m, j) => (j === i ? { ...m, deliveredId: message.id } : m));
}

/** The entries to show in a conversation: those not yet matched by a delivered message. */
export function visibleOutgoing(outbox: readonly OutgoingMessage[], peerKey: string): OutgoingMessage[] {
  return outbox.filter((m) => nameKey(m.peer) === peerKey && m.deliveredId === undefined);
}

/** Failed entries of a conversation go back to the queue (keeping their keys). */
export function requeueFailed(outbox: readonly OutgoingMessage[], peerKey: string): OutgoingMessage[] {
  return outbox.map((m) => (m.state === 'failed' && nameKey(m.peer) === peerKey ? { ...m, state: 'queued', error: undefined } : m));
}
