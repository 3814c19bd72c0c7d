import type { Migration } from '../sqlite/migrations.js';

/** Tables of the replicated log and the replica's own durable state. */
export const REPLICATION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'replicated log',
    up: (db) => {
      db.exec(`
        CREATE TABLE replica_meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT;
        CREATE TABLE log (
          idx   INTEGER PRIMARY KEY,
          epoch INTEGER NOT NULL,
          kind  TEXT NOT NULL,
          data  BLOB NOT NULL
        ) STRICT;
        CREATE TABLE quarantine (
          id             INTEGER PRIMARY KEY AUTOINCREMENT,
          idx            INTEGER NOT NULL,
          epoch          INTEGER NOT NULL,
          kind           TEXT NOT NULL,
          data           BLOB NOT NULL,
          quarantined_at INTEGER NOT NULL,
          reason         TEXT NOT NULL
        ) STRICT;
      `);
    },
  },
];
