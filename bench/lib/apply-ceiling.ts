/**
 * The state machine's ceiling: what one replica can apply per second with no
 * network, no RPC and no log, using the server's own code — a state-store
 * transaction per batch that applies each sendMessage op (ChatState.apply)
 * and records the applied position, without an fsync, as the replica's
 * applier does for committed entries. Catch-up and the followers are bounded
 * by this.
 */
import { join } from 'node:path';
import { ChatState } from '../../src/server/chat/chat-state.js';
import type { ChatOp } from '../../src/server/chat/operations.js';
import { decodeOp, encodeOp } from '../../src/server/chat/state-machine.js';
import { ReplicaCore } from '../../src/server/replication/core.js';
import type { Entry } from '../../src/server/replication/types.js';
import { openReplicaDatabase } from '../../src/server/replica-database.js';
import { SqliteStateStore } from '../../src/server/storage/state-store.js';

export interface ApplyCeiling {
  batch: number;
  entriesPerSecond: number;
  /** Percent of one core used meanwhile (the rest is waiting for the disk). */
  cpuPercent: number;
}

export function applyCeiling(dir: string, batch: number, durationMs: number): ApplyCeiling {
  const db = openReplicaDatabase(join(dir, `apply-${batch}`));
  const store = new SqliteStateStore(db);
  const chat = new ChatState(db);
  const config = ReplicaCore.initialState([{ id: 'A', address: '' }]).base.config;
  store.open('chat', 'in-sync', { lastIndex: 0, lastEpoch: 0, config });
  const users = 16;
  let index = 0;
  const now = Date.now();
  db.transaction(() => {
    for (let u = 0; u < users; u++) {
      chat.apply(
        {
          type: 'createAccount',
          at: now,
          key: `c${u}`,
          username: `user${u}`,
          passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==',
        },
        ++index,
      );
    }
  })();
  const text = 'x'.repeat(100);
  const step = () => {
    const entries: Entry[] = [];
    for (let i = 0; i < batch; i++) {
      const from = index % users;
      const op: ChatOp = {
        type: 'sendMessage',
        at: Date.now(),
        key: `k${index}`,
        senderId: from + 1,
        recipient: `user${(from + 1) % users}`,
        text,
      };
      entries.push({ index: ++index, epoch: 1, kind: 'op', data: encodeOp(op) });
    }
    store.transaction(() => {
      for (const e of entries) chat.apply(decodeOp(e.data), e.index);
      store.setApplied({ lastIndex: index, lastEpoch: 1, config });
    }, false);
  };
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
