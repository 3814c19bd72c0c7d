import { describe, expect, it } from 'vitest';
import type { ApplyOutcome, ChatOp } from '../../src/server/chat/operations.js';
import { ChatHarness } from './harness.js';

/** A fixed op sequence over three users: accounts, sends (one to a missing user, one to self), replays, reads and deletions. */
function ops(): ChatOp[] {
  const at = 1_700_000_000_000;
  const list: ChatOp[] = [];
  for (const [i, username] of ['ann', 'ben', 'cy'].entries()) {
    list.push({ type: 'createAccount', at: at + i, key: `c${i}`, username, passwordHash: `h${i}` });
  }
  for (let i = 0; i < 60; i++) {
    const from = 1 + (i % 3);
    const to = ['ann', 'ben', 'cy', 'nobody'][(i * 7) % 4]!;
    list.push({
      type: 'sendMessage',
      at: at + 100 + i,
      key: i % 5 === 0 ? '' : `s${i % 40}`,
      senderId: from,
      recipient: to,
      text: `m${i}`,
    });
  }
  list.push({ type: 'fetchUnread', at: at + 500, key: 'f1', userId: 2, limit: 3 });
  list.push({ type: 'markRead', at: at + 501, key: 'r1', userId: 3, peer: 'ann', upToId: 30 });
  list.push({ type: 'deleteMessages', at: at + 502, key: 'd1', userId: 1, ids: [1, 2] });
  list.push({ type: 'deleteAccount', at: at + 503, key: 'x1', userId: 2 });
  list.push({ type: 'sendMessage', at: at + 504, key: 'late', senderId: 1, recipient: 'ben', text: 'gone?' });
  return list;
}

describe('apply inside a caller transaction (as the replica applies committed batches)', () => {
  it('gives the same outcomes and state as one transaction per op', () => {
    const single = new ChatHarness();
    const batched = new ChatHarness();
    try {
      const all = ops();
      const expected = all.map((op, i) => single.chat.apply(op, i + 1));
      const got: ApplyOutcome[] = [];
      for (let start = 0; start < all.length; start += 16) {
        batched.db.transaction(() => {
          all
            .slice(start, start + 16)
            .forEach((op, j) => got.push(batched.chat.apply(structuredClone(op), start + j + 1)));
        })();
      }
      expect(got).toEqual(expected);
      expect(batched.chat.digest()).toBe(single.chat.digest());
    } finally {
      single.close();
      batched.close();
    }
  });

  it('leaves no trace of a batch whose transaction fails', () => {
    const h = new ChatHarness();
    try {
      const all = ops();
      all.slice(0, 10).forEach((op, i) => h.chat.apply(op, i + 1));
      const before = h.chat.digest();
      expect(() =>
        h.db.transaction(() => {
          all.slice(10).forEach((op, i) => h.chat.apply(op, 11 + i));
          throw new Error('the batch fails after its ops applied');
        })(),
      ).toThrow('the batch fails');
      expect(h.chat.digest()).toBe(before);
      // The counters were rolled back too: the next ops get what they would have got without the failed batch.
      const fresh = new ChatHarness();
      try {
        all.slice(0, 10).forEach((op, i) => fresh.chat.apply(op, i + 1));
        for (const [i, op] of all.slice(10, 20).entries())
          expect(h.chat.apply(op, 11 + i)).toEqual(fresh.chat.apply(op, 11 + i));
        expect(h.chat.digest()).toBe(fresh.chat.digest());
      } finally {
        fresh.close();
      }
    } finally {
      h.close();
    }
  });
});
