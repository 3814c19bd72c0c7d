import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplicaDatabase } from '../../src/server/replica-database.js';
import { initialConfig } from '../../src/server/replication/membership.js';
import { ClusterMismatchError, SqliteStateStore } from '../../src/server/storage/state-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-identity-'));
  dirs.push(dir);
  return dir;
}

/**
 * Opens the state store of data directory `dir` as a replica starts (the cluster check, then the identity, or only
 * the cluster check as versions before identities did), and closes it again, as a restart would.
 */
function start(dir: string, replica: string | undefined): string | undefined {
  const db = openReplicaDatabase(dir);
  try {
    const state = new SqliteStateStore(db);
    state.open('chat', 'in-sync', {
      lastIndex: 0,
      lastEpoch: 0,
      config: initialConfig([{ id: 'A', address: '127.0.0.1:1' }]),
    });
    return replica === undefined ? undefined : state.identity(replica);
  } finally {
    db.close();
  }
}

describe('a data directory identity', () => {
  it('keeps its incarnation across restarts, a new directory gets another, and another replica is refused', () => {
    const dir = dataDir();
    const first = start(dir, 'A');
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(start(dir, 'A')).toBe(first);
    expect(start(dataDir(), 'A')).not.toBe(first);
    expect(() => start(dir, 'B')).toThrow(ClusterMismatchError);
    expect(() => start(dir, 'B')).toThrow(/belongs to replica A, not B/);
  });

  it('is drawn at the first start of a directory an older version created, and kept from then on', () => {
    const dir = dataDir();
    start(dir, undefined);
    const drawn = start(dir, 'A');
    expect(drawn).toMatch(/^[0-9a-f-]{36}$/);
    expect(start(dir, 'A')).toBe(drawn);
  });
});
