/**
 * The state machine's ceiling: what one replica can persist and apply per
 * second with no network and no RPC, using the server's own code — a
 * transaction per batch that appends the entries to the log (LogStore) and
 * applies each sendMessage op (ChatState.apply), as the replica driver does
 * for committed entries. Catch-up and the followers are bounded by this.
 */
import { join } from 'node:path';
import { ChatState } from '../../src/server/chat/chat-state.js';
import type { ChatOp } from '../../src/server/chat/operations.js';
import { decodeOp, encodeOp } from '../../src/server/chat/state-machine.js';
import { ReplicaCore } from '../../src/server/replication/core.js';
import type { Entry } from '../../src/server/replication/types.js';
import { openReplicaDatabase } from '../../src/server/replica-database.js';
import { LogStore } from '../../src/server/storage/log-store.js';

export interface ApplyCeiling {
  batch: number;
  entriesPerSecond: number;
  /** Percent of one core used meanwhile (the rest is waiting for the disk). */
  cpuPercent: number;
}

export function applyCeiling(dir: string, batch: number, durationMs: number): ApplyCeiling {
  const db = openReplicaDatabase(join(dir, `apply-${batch}`));
  const store = new LogStore(db);
  const chat = new ChatState(db);
  store.load('chat', 'in-sync', ReplicaCore.initialState([{ id: 'A', address: '' }]));
  const users = 16;
  let index = 0;
  const now = Date.now();
  db.transaction(() => {
    for (let u = 0; u < users; u++) {
      chat.apply({ type: 'createAccount', at: now, key: `c${u}`, username: `user${u}`, passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==' }, ++index);
    }
  })();
  const text = 'x'.repeat(100);
  const step = db.transaction(() => {
    const entries: Entry[] = [];
    for (let i = 0; i < batch; i++) {
      const from = index % users;
      const op: ChatOp = { type: 'sendMessage', at: Date.now(), key: `k${index}`, senderId: from + 1, recipient: `user${(from + 1) % users}`, text };
      entries.push({ index: ++index, epoch: 1, kind: 'op', data: encodeOp(op) });
    }
    store.persist({ quarantine: [], entries }, Date.now());
    for (const e of entries) chat.apply(decodeOp(e.data), e.index);
    store.setApplied(index);
  });
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let applied = 0;
  while (performance.now() - started < durationMs) {
    step();
    applied += batch;
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  db.close();
  return {
    batch,
    entriesPerSecond: Math.round((applied * 1000) / elapsed),
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / elapsed) * 1000) / 10,
  };
}
