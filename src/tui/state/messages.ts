/** Message lists of a conversation: kept sorted by id, each id once. */

import type { ChatMessage } from '../../client/api.js';

/**
 * `existing` plus `incoming`, sorted by id, one entry per id. A message seen again
 * replaces the older copy (it may carry a newer `read` flag). Returns `existing`
 * itself when nothing changed, so React can skip work.
 */
export function mergeMessages(
  existing: readonly ChatMessage[],
  incoming: readonly ChatMessage[],
): readonly ChatMessage[] {
  if (incoming.length === 0) return existing;
  const byId = new Map<number, ChatMessage>();
  for (const m of existing) byId.set(m.id, m);
  let changed = false;
  for (const m of incoming) {
    const old = byId.get(m.id);
    if (old && sameMessage(old, m)) continue;
    byId.set(m.id, old ? { ...m, read: old.read || m.read } : m);
    changed = true;
  }
  if (!changed) return existing;
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return a.text === b.text && (a.read || !b.read) && a.senderDeleted === b.senderDeleted && a.sentAt === b.sentAt;
}

/** Without the given ids. Returns `messages` itself when none of them was there. */
export function removeMessages(messages: readonly ChatMessage[], ids: ReadonlySet<number>): readonly ChatMessage[] {
  if (!messages.some((m) => ids.has(m.id))) return messages;
  return messages.filter((m) => !ids.has(m.id));
}

/** Marks read every message from `peerKey` with an id up to `upToId`. */
export function markReadUpTo(
  messages: readonly ChatMessage[],
  peerKey: string,
  upToId: number,
): readonly ChatMessage[] {
  if (!messages.some((m) => !m.read && m.id <= upToId && nameKey(m.sender) === peerKey)) return messages;
  return messages.map((m) => (!m.read && m.id <= upToId && nameKey(m.sender) === peerKey ? { ...m, read: true } : m));
}

/** The case-insensitive key of a username (ASCII letters lowered), as the server compares them. */
export function nameKey(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The other party of a message seen by `me` (`me` itself for a note to self). */
export function peerOf(message: ChatMessage, me: string): string {
  return nameKey(message.sender) === nameKey(me) ? message.recipient : message.sender;
}
