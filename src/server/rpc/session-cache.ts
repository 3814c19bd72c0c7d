/**
 * The sessions of recent callers, so that a call with a known token skips
 * hashing it and reading the session from the chat state (about a tenth of
 * the leader's own work on a sent message).
 *
 * An entry is only as good as the state it was read from, so it goes when
 * that state changes: a logout ends its session, a deleted account all of
 * its sessions, a replayed login may move a session to a new token (all
 * entries go then), and a change of leadership empties the cache (a replica
 * that is not leading may install a snapshot; calls only reach this cache on
 * the leader). Everything runs on one thread: a session read here cannot miss
 * an op applied after it. At most `capacity` tokens are kept, the oldest
 * dropped first; they stay in this process's memory only, like the calls
 * that carried them (the chat state keeps only their hashes).
 */
import type * as grpc from '@grpc/grpc-js';
import { authenticate, bearerToken, type Session } from './auth.js';
import type { AppliedOp, ReplicaHandle } from './replica-handle.js';

export const SESSION_CACHE_CAPACITY = 10_000;

export class SessionCache {
  private readonly byToken = new Map<string, Session>();
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly handle: ReplicaHandle,
    private readonly capacity = SESSION_CACHE_CAPACITY,
  ) {
    this.unsubscribe = [
      handle.onApplied((applied) => this.onApplied(applied)),
      handle.onLeadershipChange(() => this.byToken.clear()),
    ];
  }

  /** The caller's session; UNAUTHENTICATED as auth.authenticate says when there is none. */
  authenticate(metadata: grpc.Metadata): Session {
    const token = bearerToken(metadata);
    const known = token === undefined ? undefined : this.byToken.get(token);
    if (known) return known;
    const session = authenticate(this.handle.chat, metadata);
    if (this.byToken.size >= this.capacity) this.byToken.delete(this.byToken.keys().next().value!);
    this.byToken.set(token!, session);
    return session;
  }

  get size(): number {
    return this.byToken.size;
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.byToken.clear();
  }

  private onApplied({ op, outcome }: AppliedOp): void {
    switch (op.type) {
      case 'logout':
        this.forget((s) => s.tokenHash === op.tokenHash);
        return;
      case 'deleteAccount':
        this.forget((s) => s.account.id === op.userId);
        return;
      case 'login':
        if (outcome.replayed) this.byToken.clear();
        return;
      default:
    }
  }

  private forget(matches: (s: Session) => boolean): void {
    for (const [token, session] of this.byToken) if (matches(session)) this.byToken.delete(token);
  }
}
