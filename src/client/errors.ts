/** gRPC failures as `ChatError`s, and which of them are worth retrying. */
import * as grpc from '@grpc/grpc-js';
import { ChatError } from './api.js';

/** Trailing metadata keys with which a follower names the leader. */
export const LEADER_ID_KEY = 'x-leader-id';
export const LEADER_ADDRESS_KEY = 'x-leader-address';

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number';
}

/** The status name of a numeric gRPC code, e.g. 5 → 'NOT_FOUND'. */
export function statusName(code: number): string {
  return grpc.status[code] ?? `STATUS_${code}`;
}

/** The leader a refusing replica named in its trailing metadata, if any. */
export function leaderHint(err: unknown): { id: string; address: string } | undefined {
  if (!isServiceError(err) || err.code !== grpc.status.UNAVAILABLE || !err.metadata) return undefined;
  const address = err.metadata.get(LEADER_ADDRESS_KEY)[0];
  if (typeof address !== 'string' || address === '') return undefined;
  const id = err.metadata.get(LEADER_ID_KEY)[0];
  return { id: typeof id === 'string' ? id : '', address };
}

/** Converts anything a call rejected with into a ChatError carrying the server's message. */
export function toChatError(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (isServiceError(err)) return new ChatError(statusName(err.code), err.details || err.message);
  if (err instanceof Error) return new ChatError('UNKNOWN', err.message);
  return new ChatError('UNKNOWN', String(err));
}

/** A short description of a failure for a status bar. */
export function describeError(err: unknown): string {
  if (isServiceError(err)) return `${statusName(err.code)}: ${err.details || err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Whether a failed attempt may be retried elsewhere or later. UNAVAILABLE
 * always (the call did not run, or ran under an idempotency key);
 * DEADLINE_EXCEEDED, and CANCELLED (a server that stops cancels the calls in
 * progress; the caller checks its own close first), only for calls that are
 * safe to repeat.
 */
export function isTransient(err: unknown, idempotent: boolean): boolean {
  if (!isServiceError(err)) return false;
  if (err.code === grpc.status.UNAVAILABLE) return true;
  return idempotent && (err.code === grpc.status.DEADLINE_EXCEEDED || err.code === grpc.status.CANCELLED);
}

export function closedError(): ChatError {
  return new ChatError('CANCELLED', 'the client was closed');
}
