import { describe, expect, it } from 'vitest';
import type { ApplyOutcome, ChatOp } from '../../src/server/chat/operations.js';
import { IDEMPOTENCY_PRUNE_EVERY } from '../../src/server/chat/apply.js';
import { ChatHarness } from './harness.js';

/** A small seeded PRNG (mulberry32), so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['ann', 'Ben', 'cy', 'Dee', 'ed', 'ANN', 'ben'];
const TEXTS = ['hi', 'e\u0301', '👋🏽', 'שלום', 'two\nlines', '', '\u0007', 'x'.repeat(50)];

/**
 * Applies a random op sequence over a handful of users, with reused keys, bad input
 * and deletions. Each op goes to `apply`; message ids seen in its outcome feed later
 * deletions, so they hit real messages as well as others' and missing ones.
 */
function runRandomOps(
  seed: number,
  count: number,
  apply: (op: ChatOp, index: number) => ApplyOutcome,
  start = { at: 1_700_000_000_000, index: 0 },
): { at: number; index: number } {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const user = (): number => 1 + Math.floor(rand() * 7);
  const key = (): string => (rand() < 0.6 ? '' : `k${Math.floor(rand() * 40)}`);
  const messageIds: number[] = [];
  const lastParties = new Map<number, number[]>();
  let { at, index } = start;
  for (let i = 0; i < count; i++) {
    at += Math.floor(rand() * 600_000);
    index += 1 + (rand() < 0.05 ? 1 : 0); // now and then an index without a chat op (a config entry)
    const base = { at, key: key() };
    const r = rand();
    let op: ChatOp;
    if (r < 0.12) op = { ...base, type: 'createAccount', username: pick(NAMES), passwordHash: `h${i}` };
    else if (r < 0.2) op = { ...base, type: 'login', userId: user(), tokenHash: `t${Math.floor(rand() * 10)}` };
    else if (r < 0.24) op = { ...base, type: 'logout', userId: user(), tokenHash: `t${Math.floor(rand() * 10)}` };
    else if (r < 0.6)
      op = { ...base, type: 'sendMessage', senderId: user(), recipient: pick(NAMES), text: pick(TEXTS) };
    else if (r < 0.7) op = { ...base, type: 'fetchUnread', userId: user(), limit: pick([1, 3, 1000, 0]) };
    else if (r < 0.8)
      op = {
        ...base,
        type: 'markRead',
        userId: user(),
        peer: pick(NAMES),
        upToId: pick([0, ...messageIds.slice(-5), 10 ** 6]),
      };
    else if (r < 0.97) {
      const length = rand() < 0.7 ? 1 : 2 + Math.floor(rand() * 3);
      const ids = Array.from({ length }, () =>
        rand() < 0.9 && messageIds.length > 0 ? pick(messageIds.slice(-20)) : 1 + Math.floor(rand() * 500),
      );
      // Mostly a party of the message, sometimes anybody.
      const about = messageIds.length > 0 ? lastParties.get(ids[0]!) : undefined;
      const userId = about && rand() < 0.8 ? pick(about) : user();
      op = { ...base, type: 'deleteMessages', userId, ids };
    } else op = { ...base, type: 'deleteAccount', userId: user() };
    const outcome = apply(op, index);
    if (outcome.ok && outcome.result.type === 'sendMessage') {
      const m = outcome.result.message;
      messageIds.push(m.id);
      lastParties.set(m.id, [m.senderId, m.recipientId]);
    }
  }
  return { at, index };
}
/** The chat indexes' definitions, to check that an import leaves them as they were. */
function chatIndexes(h: ChatHarness): unknown[] {
  return h.db
    .prepare(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name LIKE 'chat\\_%' ESCAPE '\\' ORDER BY name",
    )
    .all();
}

/** Every account's stored unread counter must equal a count of its unread visible messages. */
function checkUnreadCounters(h: ChatHarness): void {
  const rows = h.db
    .prepare(
      `SELECT a.id, a.unread_count AS stored,
         (SELECT COUNT(*) FROM chat_messages m
           WHERE m.recipient_id = a.id AND m.read_at IS NULL AND m.hidden_for_recipient = 0) AS counted
       FROM chat_accounts a`,
    )
    .all() as { id: number; stored: number; counted: number }[];
  for (const row of rows) expect(row.stored, `account ${row.id}`).toBe(row.counted);
}

describe('determinism', () => {
  it.each([1, 2, 3])('the same ops give the same outcomes and digests on two replicas (seed %i)', (seed) => {
    const a = new ChatHarness();
    const b = new ChatHarness();
    try {
      const kinds = new Set<string>();
      let n = 0;
      runRandomOps(seed, 1200, (op, index) => {
        const before = a.chat.digest();
        const outA = a.chat.apply(op, index);
        const outB = b.chat.apply(structuredClone(op), index);
        expect(outB, `op ${n} (seed ${seed})`).toEqual(outA);
        // A refusal without a key to remember, or a replay, changes nothing (a replayed login may move its session).
        const pruned = index % IDEMPOTENCY_PRUNE_EVERY === 0;
        if (!pruned && ((!outA.ok && op.key === '') || (outA.replayed && op.type !== 'login'))) {
          expect(a.chat.digest(), `op ${n} (seed ${seed}) changed the state`).toBe(before);
        }
        n++;
        kinds.add(`${op.type}:${outA.ok ? 'ok' : outA.code}:${outA.replayed}`);
        return outA;
      });
      if (process.env.CHAT_SHOW_KINDS) console.log([...kinds].sort().join('\n'));
      expect(a.chat.digest()).toBe(b.chat.digest());
      checkUnreadCounters(a);
      // The sequence reached the interesting paths.
      for (const k of [
        'sendMessage:ok:false',
        'sendMessage:ok:true',
        'deleteMessages:ok:false',
        'deleteMessages:NOT_FOUND:false',
        'deleteAccount:ok:false',
        'fetchUnread:ok:false',
        'markRead:ok:false',
        'createAccount:ALREADY_EXISTS:false',
      ]) {
        expect(kinds, k).toContain(k);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('the digest changes with any change, and only then', () => {
    const h = new ChatHarness();
    try {
      const empty = h.chat.digest();
      expect(empty).toMatch(/^[0-9a-f]{64}$/);
      const alice = h.createAccount('alice');
      const withAccount = h.chat.digest();
      expect(withAccount).not.toBe(empty);
      h.apply({ type: 'logout', userId: alice, tokenHash: 'nothing' });
      expect(h.chat.digest()).toBe(withAccount);
      h.apply({ type: 'logout', userId: alice, tokenHash: 'nothing', key: 'k' });
      expect(h.chat.digest()).not.toBe(withAccount); // the idempotency row counts
    } finally {
      h.close();
    }
  });
});

describe('exportState / importState', () => {
  it('round-trips to the identical digest and state, replacing what was there', () => {
    const source = new ChatHarness();
    const target = new ChatHarness();
    try {
      const end = runRandomOps(7, 800, (op, index) => source.chat.apply(op, index));
      source.now = end.at;
      source.index = end.index;
      // Enough text to span several compressed frames.
      const writer = source.createAccount('writer');
      source.createAccount('reader');
      for (let i = 0; i < 2500; i++) source.send(writer, 'reader', `message ${i} ${'ünïcödé 😀 '.repeat(40)}`);
      target.createAccount('someone-else');
      target.send(1, 'someone-else', 'will be replaced');

      const snapshot = source.chat.exportState();
      const indexes = chatIndexes(target);
      expect(indexes.length).toBeGreaterThanOrEqual(8);
      target.db.transaction(() => target.chat.importState(snapshot))();
      expect(chatIndexes(target)).toEqual(indexes);
      expect(target.chat.digest()).toBe(source.chat.digest());
      expect(target.chat.accountByName('someone-else')).toBeUndefined();
      expect(target.chat.listAccounts('', undefined, 100)).toEqual(source.chat.listAccounts('', undefined, 100));
      checkUnreadCounters(target);

      // Both continue identically: counters and idempotency rows came along.
      runRandomOps(
        8,
        300,
        (op, index) => {
          const out = source.chat.apply(op, index);
          expect(target.chat.apply(structuredClone(op), index)).toEqual(out);
          return out;
        },
        { at: source.now + 1000, index: source.index + 1 },
      );
      expect(target.chat.digest()).toBe(source.chat.digest());
      // A second export of the same state is byte-identical.
      expect(target.chat.exportState().equals(source.chat.exportState())).toBe(true);
    } finally {
      source.close();
      target.close();
    }
  });

  it('imports an empty state', () => {
    const empty = new ChatHarness();
    const target = new ChatHarness();
    try {
      target.createAccount('x');
      target.chat.importState(empty.chat.exportState());
      expect(target.chat.digest()).toBe(empty.chat.digest());
      expect(target.createAccount('y')).toBe(1);
    } finally {
      empty.close();
      target.close();
    }
  });

  it('refuses damaged snapshots and leaves the state as it was', () => {
    const source = new ChatHarness();
    const target = new ChatHarness();
    try {
      const a = source.createAccount('alice');
      source.createAccount('bob');
      for (let i = 0; i < 20; i++) source.send(a, 'bob', `m${i}`);
      target.createAccount('keep-me');
      const before = target.chat.digest();
      const indexes = chatIndexes(target);
      const good = source.chat.exportState();
      const flipped = Buffer.from(good);
      flipped[flipped.length - 10]! ^= 0xff;
      const damaged = [good.subarray(0, good.length - 5), Buffer.from('not a snapshot'), flipped, Buffer.alloc(0)];
      for (const data of damaged) {
        expect(() => target.chat.importState(data)).toThrow(/cannot import chat state/);
        expect(target.chat.digest()).toBe(before);
        expect(chatIndexes(target)).toEqual(indexes);
      }
    } finally {
      source.close();
      target.close();
    }
  });
});
