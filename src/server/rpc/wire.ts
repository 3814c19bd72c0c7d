/** Conversions between the chat state's records and the chat service's messages. */
import type { StoredMessage } from '../chat/operations.js';
import { validateUsername } from '../chat/validation.js';
import type { Message } from '../../gen/chat/v1/chat.js';
import { invalidArgument } from './status-errors.js';

/** A stored message as the chat service sends it (without an idempotency key: only the sender's stream copy carries one, see subscriptions.ts). */
export function toWireMessage(m: StoredMessage): Message {
  return {
    id: m.id,
    sender: m.sender,
    recipient: m.recipient,
    text: m.text,
    sentAtMs: m.sentAt,
    read: m.read,
    senderDeleted: m.senderDeleted,
    idempotencyKey: '',
  };
}

const PAGE_TOKEN_PREFIX = 'after:';
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** An opaque ListAccounts page token that continues after `username`. */
export function encodePageToken(username: string): string {
  return Buffer.from(PAGE_TOKEN_PREFIX + username, 'utf8').toString('base64url');
}

/** The username a page token continues after; undefined for ''. INVALID_ARGUMENT when it is not one of ours. */
export function decodePageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const bad = () =>
    invalidArgument('the page token is not valid; list again from the first page (without a page token)');
  if (token.length > 128 || !BASE64URL.test(token)) throw bad();
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith(PAGE_TOKEN_PREFIX)) throw bad();
  const username = decoded.slice(PAGE_TOKEN_PREFIX.length);
  if (validateUsername(username) !== undefined || encodePageToken(username) !== token) throw bad();
  return username;
}
