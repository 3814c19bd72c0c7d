import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplicaDatabase } from '../../src/server/replica-database.js';
import { ClusterMismatchError, LogStore } from '../../src/server/storage/log-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The incarnation `replica` gets from the data directory `dir` (opened and closed again, as a restart would). */
function identityOf(dir: string, replica: string): string {
  const db = openReplicaDatabase(dir);
  try {
    return new LogStore(db).identity(replica);
  } finally {
    db.close();
  }
}

describe('a data directory identity', () => {
  it('keeps its incarnation across restarts, a new directory gets another, and another replica is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-identity-'));
    const other = mkdtempSync(join(tmpdir(), 'chat-identity-'));
    dirs.push(dir, other);
    const first = identityOf(dir, 'A');
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(identityOf(dir, 'A')).toBe(first);
    expect(identityOf(other, 'A')).not.toBe(first);
    expect(() => identityOf(dir, 'B')).toThrow(ClusterMismatchError);
    expect(() => identityOf(dir, 'B')).toThrow(/belongs to replica A, not B/);
  });
});
