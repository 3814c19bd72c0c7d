import type { Database } from 'better-sqlite3';
import { join } from 'node:path';
import { CHAT_MIGRATIONS } from './chat/schema.js';
import { openDatabase, openMemoryDatabase } from './sqlite/database.js';
import type { Migration } from './sqlite/migrations.js';
import { REPLICATION_MIGRATIONS } from './storage/replication-schema.js';

/** The schema of a chat replica's database: the log's tables and the chat tables, in one SQLite file. */
export const REPLICA_MIGRATIONS: readonly Migration[] = [...REPLICATION_MIGRATIONS, ...CHAT_MIGRATIONS];

/** Opens (creating if needed) a chat replica's database in `dataDir`, with its whole schema. */
export function openReplicaDatabase(dataDir: string): Database {
  return openDatabase(dataDir, REPLICA_MIGRATIONS);
}

/** A chat replica's database in memory, with its whole schema, for tests and tools. */
export function openMemoryReplicaDatabase(): Database {
  return openMemoryDatabase(REPLICA_MIGRATIONS);
}

/** Where a replica keeps its log: segment files in `log/` beside its database. */
export function logDirectory(dataDir: string): string {
  return join(dataDir, 'log');
}
