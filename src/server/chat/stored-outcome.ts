/**
 * What an idempotency row keeps of an op's outcome, and its text in the row.
 * A sent message, the outcome of nearly every row, is five fields in a short
 * fixed form (`s:id:recipientId:sentAt:read`); every other outcome is JSON.
 * Rows written as JSON before the short form existed read back the same.
 */
import type { AccountId, ChatErrorCode, DeletionNotice, MessageId } from './operations.js';

/** Small, and enough to answer a retry the same way. */
export type StoredOutcome =
  | { ok: false; code: ChatErrorCode; message: string }
  | { ok: true; type: 'createAccount'; userId: AccountId; username: string }
  | { ok: true; type: 'login'; userId: AccountId; username: string; unreadCount: number; tokenHash: string }
  | { ok: true; type: 'logout' }
  | { ok: true; type: 'sendMessage'; id: MessageId; recipientId: AccountId; sentAt: number; read: boolean }
  | { ok: true; type: 'fetchUnread'; ids: MessageId[]; remaining: number }
  | { ok: true; type: 'markRead'; marked: number }
  | { ok: true; type: 'deleteMessages'; deletedIds: MessageId[]; notices: DeletionNotice[] }
  | { ok: true; type: 'deleteAccount'; userId: AccountId };

const SENT = 's:';
const SENT_FORM = /^s:(\d+):(\d+):(\d+):([01])$/;

export function encodeStoredOutcome(stored: StoredOutcome): string {
  if (stored.ok && stored.type === 'sendMessage') return `${SENT}${stored.id}:${stored.recipientId}:${stored.sentAt}:${stored.read ? 1 : 0}`;
  return JSON.stringify(stored);
}

export function decodeStoredOutcome(text: string): StoredOutcome {
  if (text.startsWith(SENT)) {
    const m = SENT_FORM.exec(text);
    if (!m) throw new Error(`an idempotency record is damaged: ${JSON.stringify(text.slice(0, 80))}`);
    return { ok: true, type: 'sendMessage', id: Number(m[1]), recipientId: Number(m[2]), sentAt: Number(m[3]), read: m[4] === '1' };
  }
  return JSON.parse(text) as StoredOutcome;
}
