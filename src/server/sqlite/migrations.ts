import type { Database } from 'better-sqlite3';

/** One step of the schema. Versions are global across the database and applied in order, once. */
export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

/** A database written by a newer chat-server: this one must not touch it. */
export class NewerSchemaError extends Error {}

/** Applies every migration newer than the database's `user_version`, each in its own transaction. */
export function migrate(db: Database, migrations: readonly Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) {
      throw new Error(`two migrations share version ${sorted[i]!.version}`);
    }
  }
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = sorted.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new NewerSchemaError(
      `the data directory holds schema version ${current}, newer than this chat-server knows (${newest}); use a newer chat-server`,
    );
  }
  for (const m of sorted) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return newest;
}
