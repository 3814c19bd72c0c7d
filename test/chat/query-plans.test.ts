import { describe, expect, it } from 'vitest';
import { openMemoryDatabase } from '../../src/server/storage/database.js';
import { WRITE_PATH_SQL } from '../../src/server/chat/state-machine.js';

describe('write-path statements', () => {
  const db = openMemoryDatabase();

  it.each(Object.entries(WRITE_PATH_SQL))('%s reaches its rows through an index, never a full scan', (_name, sql) => {
    const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
    for (const step of plan) {
      expect(step, sql).not.toMatch(/^SCAN /);
      expect(step, sql).not.toMatch(/TEMP B-TREE/);
    }
    if (!/^INSERT/.test(sql)) expect(plan.some((step) => /^SEARCH /.test(step)), sql).toBe(true);
  });
});
