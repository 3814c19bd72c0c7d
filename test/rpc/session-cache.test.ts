/**
 * The session cache of the chat service: a token it knows is answered without
 * the chat state, yet a session that ended is refused at once.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatState } from '../../src/server/chat/chat-state.js';
import type { ChatOp } from '../../src/server/chat/operations.js';
import { openMemoryReplicaDatabase } from '../../src/server/replica-database.js';
import { hashToken } from '../../src/server/rpc/auth.js';
import type { AppliedOp, ReplicaHandle } from '../../src/server/rpc/replica-handle.js';
import { SessionCache } from '../../src/server/rpc/session-cache.js';
import type { OpInput } from '../chat/harness.js';

/** A leader whose ops apply at once, telling the listeners as a replica does. */
class InstantLeader {
  readonly db = openMemoryReplicaDatabase();
  readonly chat = new ChatState(this.db);
  private index = 0;
  private readonly applied: ((a: AppliedOp) => void)[] = [];
  private readonly leadership: ((leading: boolean) => void)[] = [];

  apply(op: OpInput): AppliedOp {
    const full = { at: 1_700_000_000_000 + this.index, key: '', ...op } as ChatOp;
    const event = { index: ++this.index, op: full, outcome: this.chat.apply(full, this.index) };
    for (const l of this.applied) l(event);
    return event;
  }

  setLeading(leading: boolean): void {
    for (const l of this.leadership) l(leading);
  }

  handle(): ReplicaHandle {
    return {
      id: 'A',
      chat: this.chat,
      submit: () => Promise.reject(new Error('not used')),
      ensureLeaderReady: () => Promise.resolve(),
      leader: () => ({ id: 'A', address: '127.0.0.1:1', epoch: 1 }),
      onApplied: (l) => {
        this.applied.push(l);
        return () => this.applied.splice(this.applied.indexOf(l), 1);
      },
      onLeadershipChange: (l) => {
        this.leadership.push(l);
        return () => this.leadership.splice(this.leadership.indexOf(l), 1);
      },
    };
  }
}

function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

function refused(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

let leader: InstantLeader;
let cache: SessionCache;
let alice: number;

function login(userId: number, token: string, key = ''): void {
  leader.apply({ type: 'login', key, userId, tokenHash: hashToken(token) });
}

beforeEach(() => {
  leader = new InstantLeader();
  cache = new SessionCache(leader.handle(), 3);
  alice = (
    leader.apply({ type: 'createAccount', username: 'alice', passwordHash: 'scrypt$x' }).outcome as {
      ok: true;
      result: { userId: number };
    }
  ).result.userId;
});
afterEach(() => {
  cache.close();
  leader.db.close();
});

describe('session cache', () => {
  it('answers a known token, refuses unknown and malformed ones', () => {
    login(alice, 'token-one');
    expect(cache.authenticate(bearer('token-one')).account.username).toBe('alice');
    expect(cache.authenticate(bearer('token-one')).tokenHash).toBe(hashToken('token-one'));
    expect(refused(() => cache.authenticate(bearer('token-two')))).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused(() => cache.authenticate(new grpc.Metadata()))).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("refuses a token as soon as its logout is applied, and keeps the user's other sessions", () => {
    login(alice, 'phone');
    login(alice, 'laptop');
    cache.authenticate(bearer('phone'));
    cache.authenticate(bearer('laptop'));
    leader.apply({ type: 'logout', userId: alice, tokenHash: hashToken('phone') });
    expect(refused(() => cache.authenticate(bearer('phone')))).toBe(grpc.status.UNAUTHENTICATED);
    expect(cache.authenticate(bearer('laptop')).account.id).toBe(alice);
  });

  it('refuses every session of a deleted account', () => {
    login(alice, 'phone');
    login(alice, 'laptop');
    cache.authenticate(bearer('phone'));
    cache.authenticate(bearer('laptop'));
    leader.apply({ type: 'deleteAccount', userId: alice });
    expect(refused(() => cache.authenticate(bearer('phone')))).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused(() => cache.authenticate(bearer('laptop')))).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('refuses the first token of a login that a retry moved to a new token', () => {
    login(alice, 'first', 'login-key');
    cache.authenticate(bearer('first'));
    login(alice, 'retried', 'login-key');
    expect(refused(() => cache.authenticate(bearer('first')))).toBe(grpc.status.UNAUTHENTICATED);
    expect(cache.authenticate(bearer('retried')).account.id).toBe(alice);
  });

  it('reads sessions afresh after a change of leadership (a snapshot may have replaced the state meanwhile)', () => {
    login(alice, 'phone');
    cache.authenticate(bearer('phone'));
    // As an installed snapshot would: the session is gone from the state without an op applied here.
    leader.db.prepare('DELETE FROM chat_sessions').run();
    leader.setLeading(false);
    leader.setLeading(true);
    expect(refused(() => cache.authenticate(bearer('phone')))).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('keeps at most its capacity of tokens', () => {
    for (const t of ['a', 'b', 'c', 'd', 'e']) {
      login(alice, t);
      cache.authenticate(bearer(t));
    }
    expect(cache.size).toBe(3);
    expect(cache.authenticate(bearer('a')).account.id).toBe(alice);
  });
});
