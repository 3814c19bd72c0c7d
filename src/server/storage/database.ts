import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { mkdirSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { migrate } from './migrations.js';
import { REPLICATION_MIGRATIONS } from './replication-schema.js';
import { CHAT_MIGRATIONS } from '../chat/schema.js';

export const DATABASE_FILE = 'chat.db';

export class DataDirError extends Error {}

/**
 * Opens (creating if needed) the replica's database in `dataDir`: WAL, full
 * fsync on every commit, and every schema migration applied.
 */
export function openDatabase(dataDir: string): Database {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new DataDirError(`data directory ${dataDir} is not usable: ${(err as Error).message}`);
  }
  let db: Database;
  try {
    db = new BetterSqlite3(join(dataDir, DATABASE_FILE));
  } catch (err) {
    throw new DataDirError(`cannot open ${join(dataDir, DATABASE_FILE)}: ${(err as Error).message}`);
  }
  configure(db);
  migrate(db, [...REPLICATION_MIGRATIONS, ...CHAT_MIGRATIONS]);
  return db;
}

/** An in-memory database with the full schema, for tests and tools. */
export function openMemoryDatabase(): Database {
  const db = new BetterSqlite3(':memory:');
  configure(db);
  migrate(db, [...REPLICATION_MIGRATIONS, ...CHAT_MIGRATIONS]);
  return db;
}

function configure(db: Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}
