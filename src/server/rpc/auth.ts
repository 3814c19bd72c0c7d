/**
 * Session tokens: 32 random bytes (base64url) handed to the client once; only
 * their sha256 enters the log and the chat state. Calls carry the token as
 * `authorization: Bearer <token>`.
 */
import type * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import type { AccountRecord, ChatStateApi } from '../chat/state-api.js';
import { unauthenticated } from './status-errors.js';

export const AUTHORIZATION_KEY = 'authorization';
const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** Longer than any token this server makes; anything beyond is not worth hashing. */
const MAX_TOKEN_LENGTH = 512;

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The bearer token of a call, or undefined when it carries none. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get(AUTHORIZATION_KEY);
  const value = values[0];
  if (typeof value !== 'string') return undefined;
  const match = BEARER.exec(value);
  return match ? match[1] : undefined;
}

export interface Session {
  account: AccountRecord;
  tokenHash: string;
}

/** The session of the caller; UNAUTHENTICATED when the call has no valid session token. */
export function authenticate(chat: ChatStateApi, metadata: grpc.Metadata): Session {
  const token = bearerToken(metadata);
  if (token === undefined) throw unauthenticated('not logged in: log in first (the call carries no session token)');
  if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated('the session token is not valid; log in again');
  const tokenHash = hashToken(token);
  const account = chat.sessionAccount(tokenHash);
  if (!account) throw unauthenticated('the session has ended or the token is not valid; log in again');
  return { account, tokenHash };
}
