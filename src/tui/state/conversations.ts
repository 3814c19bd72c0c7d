/** The conversation list: entries, unread counting, ordering and the jump to the next unread one. */

import type { ChatMessage, ConversationSummary } from '../../client/api.js';
import { nameKey } from './messages.js';

export interface ConversationEntry {
  /** The peer's name as the server spells it. */
  peer: string;
  lastMessage: ChatMessage | undefined;
  unread: number;
  online: boolean;
  peerDeleted: boolean;
  /** Until when (ms) the peer is shown typing, after a typing notice; 0 when not. */
  typingUntil: number;
}

export type ConversationMap = Readonly<Record<string, ConversationEntry>>;

export function emptyEntry(peer: string): ConversationEntry {
  return { peer, lastMessage: undefined, unread: 0, online: false, peerDeleted: false, typingUntil: 0 };
}

/**
 * Unread conversations first, then by most recent activity, then by name: the order
 * of the list. Conversations without any message yet (just opened from a search) sort
 * as the most recent.
 */
export function sortConversations(map: ConversationMap): ConversationEntry[] {
  return Object.values(map).sort((a, b) => {
    const ua = a.unread > 0 ? 1 : 0;
    const ub = b.unread > 0 ? 1 : 0;
    if (ua !== ub) return ub - ua;
    const la = a.lastMessage?.id ?? Number.MAX_SAFE_INTEGER;
    const lb = b.lastMessage?.id ?? Number.MAX_SAFE_INTEGER;
    if (la !== lb) return lb - la;
    return nameKey(a.peer) < nameKey(b.peer) ? -1 : nameKey(a.peer) > nameKey(b.peer) ? 1 : 0;
  });
}

export function totalUnread(map: ConversationMap): number {
  let n = 0;
  for (const e of Object.values(map)) n += e.unread;
  return n;
}

/**
 * A message that arrived in real time (or as the answer to a send). The peer's unread
 * count grows when the message is new, from the peer, unread, and its conversation is
 * not open. `known` says whether this message id was seen before.
 */
export function applyMessage(
  map: ConversationMap,
  message: ChatMessage,
  me: string,
  openPeerKey: string | undefined,
  known: boolean,
): ConversationMap {
  const fromMe = nameKey(message.sender) === nameKey(me);
  const peer = fromMe ? message.recipient : message.sender;
  const key = nameKey(peer);
  const entry = map[key] ?? emptyEntry(peer);
  const newer = !entry.lastMessage || message.id > entry.lastMessage.id;
  const counts = !known && newer && !fromMe && !message.read && key !== openPeerKey;
  const next: ConversationEntry = {
    ...entry,
    peer: entry.peer || peer,
    lastMessage: newer ? message : entry.lastMessage,
    unread: entry.unread + (counts ? 1 : 0),
    // A message from the peer ends its typing.
    typingUntil: fromMe ? entry.typingUntil : 0,
  };
  return { ...map, [key]: next };
}

/**
 * Takes the server's list as the truth, but keeps what arrived after it: messages
 * newer than the server's last one that were counted here stay counted, and the open
 * conversation stays at zero (it is being marked read). Conversations that only exist
 * locally (opened from a search, no message yet) are kept.
 */
export function applySummaries(
  map: ConversationMap,
  summaries: readonly ConversationSummary[],
  cached: (peerKey: string) => readonly ChatMessage[],
  me: string,
  openPeerKey: string | undefined,
): ConversationMap {
  const next: Record<string, ConversationEntry> = {};
  for (const s of summaries) {
    const key = nameKey(s.peer);
    const local = map[key];
    const serverLast = s.lastMessage?.id ?? 0;
    const laterUnread = cached(key).filter(
      (m) => m.id > serverLast && !m.read && nameKey(m.sender) !== nameKey(me),
    ).length;
    const localLast = local?.lastMessage && local.lastMessage.id > serverLast ? local.lastMessage : s.lastMessage;
    next[key] = {
      peer: s.peer,
      lastMessage: localLast,
      unread: key === openPeerKey ? 0 : s.unreadCount + laterUnread,
      online: s.peerOnline,
      peerDeleted: s.peerDeleted,
      typingUntil: local?.typingUntil ?? 0,
    };
  }
  for (const [key, entry] of Object.entries(map)) {
    if (!next[key] && (entry.lastMessage === undefined || key === openPeerKey)) next[key] = entry;
  }
  return next;
}

/** After a fetch of unread messages: each fetched message from a peer counts one less unread there. */
export function applyFetchedUnread(
  map: ConversationMap,
  messages: readonly ChatMessage[],
  me: string,
): ConversationMap {
  const next: Record<string, ConversationEntry> = { ...map };
  for (const m of messages) {
    if (nameKey(m.sender) === nameKey(me)) continue;
    const key = nameKey(m.sender);
    const entry = next[key] ?? emptyEntry(m.sender);
    next[key] = {
      ...entry,
      unread: Math.max(0, entry.unread - 1),
      lastMessage: !entry.lastMessage || m.id > entry.lastMessage.id ? m : entry.lastMessage,
    };
  }
  return next;
}

/** A presence change pushed by the server; only for conversations listed here. */
export function setOnline(map: ConversationMap, peerKey: string, online: boolean): ConversationMap {
  const entry = map[peerKey];
  if (!entry || entry.online === online) return map;
  return { ...map, [peerKey]: { ...entry, online, typingUntil: online ? entry.typingUntil : 0 } };
}

export function setUnread(map: ConversationMap, peerKey: string, unread: number): ConversationMap {
  const entry = map[peerKey];
  if (!entry || entry.unread === unread) return map;
  return { ...map, [peerKey]: { ...entry, unread } };
}

/**
 * The next conversation with unread messages after `currentKey` in list order,
 * wrapping around; undefined when none has any.
 */
export function nextUnread(ordered: readonly ConversationEntry[], currentKey: string | undefined): string | undefined {
  const keys = ordered.map((e) => nameKey(e.peer));
  const start = currentKey === undefined ? -1 : keys.indexOf(currentKey);
  for (let step = 1; step <= ordered.length; step++) {
    const i = (start + step + ordered.length) % ordered.length;
    const entry = ordered[i]!;
    if (entry.unread > 0 && keys[i] !== currentKey) return keys[i];
  }
  return undefined;
}
