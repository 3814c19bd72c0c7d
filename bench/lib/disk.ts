/**
 * The disk's ceiling for the replicated log: batches of log-sized rows, one
 * transaction (one WAL fsync, synchronous=FULL) per batch, as fast as possible.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskResult } from './jobs.js';

export function diskLoop(dir: string, batch: number, durationMs: number, entryBytes: number): DiskResult {
  mkdirSync(dir, { recursive: true });
  const db = new BetterSqlite3(join(dir, 'disk-ceiling.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, kind TEXT NOT NULL, data BLOB NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO log (idx, epoch, kind, data) VALUES (?, ?, ?, ?)');
  const payload = Buffer.alloc(entryBytes, 'x');
  let idx = 0;
  const writeBatch = db.transaction(() => {
    for (let i = 0; i < batch; i++) insert.run(++idx, 1, 'op', payload);
  });
  const started = performance.now();
  const end = started + durationMs;
  let transactions = 0;
  while (performance.now() < end) {
    writeBatch();
    transactions++;
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return { kind: 'disk', transactions, rows: idx, seconds };
}
