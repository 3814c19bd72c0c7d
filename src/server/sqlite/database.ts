import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { mkdirSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { migrate, NewerSchemaError, type Migration } from './migrations.js';

export const DATABASE_FILE = 'chat.db';

export class DataDirError extends Error {}

/**
 * Opens (creating if needed) the replica's database in `dataDir`: WAL, full
 * fsync on every commit, a 64 MiB page cache, temp data in memory, and the
 * given schema migrations applied (each part of the replica brings its own).
 */
export function openDatabase(dataDir: string, migrations: readonly Migration[]): Database {
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
  try {
    migrate(db, migrations);
  } catch (err) {
    db.close();
    // A newer schema is the operator's to resolve (a newer build), like an unusable directory: one line, exit status 2.
    if (err instanceof NewerSchemaError) throw new DataDirError(`${dataDir}: ${err.message}`);
    throw err;
  }
  return db;
}

/** An in-memory database configured the same way, with the given migrations applied, for tests and tools. */
export function openMemoryDatabase(migrations: readonly Migration[]): Database {
  const db = new BetterSqlite3(':memory:');
  configure(db);
  migrate(db, migrations);
  return db;
}

/** Page cache per connection (KiB): the hot index pages of a large store (a leaf per user in each message index) stay in memory. */
export const CACHE_KIB = 64 * 1024;

function configure(db: Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${CACHE_KIB}`);
  // Statement and savepoint journals in memory rather than temp files: they hold a copy of every
  // page a multi-row statement or a savepoint touches, and never need to survive a crash (the
  // WAL makes the transaction durable, not them).
  db.pragma('temp_store = MEMORY');
}
