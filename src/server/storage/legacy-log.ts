/**
 * Data directories written before the log moved to segment files kept it in
 * the SQLite database: a `log` table, the hard state and the log's base in
 * `replica_meta`. On the first start with segment files, that log is written
 * out as the first segment (into a temporary directory renamed into place, so
 * a crash leaves either no log directory or a whole one), then the database
 * drops the table and records the applied entry's epoch and configuration,
 * which the snapshot export reads from there now.
 */
import type { Database } from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import { decodeConfig, encodeConfig, initialConfig } from '../replication/membership.js';
import type { Config, Entry, EntryKind, HardState, LogBase } from '../replication/types.js';
import { isSegmentName, writeLogDirectory } from './segmented-log.js';
import { META } from './state-store.js';

interface LogRow {
  idx: number;
  epoch: number;
  kind: string;
  data: Buffer;
}

const LEGACY_HARD = 'hard';
const LEGACY_BASE = 'base';
/** Written by versions before membership changes: the sorted member ids, which configs did not carry. */
const LEGACY_MEMBERS = 'members';

/** Moves a log kept in the database to segment files in `logDir`. Does nothing for a database without one. */
export function upgradeSqliteLog(db: Database, logDir: string): void {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log'").get() !== undefined;
  if (!hasTable) return;
  const meta = (key: string) =>
    db.prepare<[string], { value: string }>('SELECT value FROM replica_meta WHERE key = ?').get(key)?.value;
  const hardJson = meta(LEGACY_HARD);
  let applied: { epoch: number; config: Config } | undefined;
  if (hardJson !== undefined) {
    const hard = JSON.parse(hardJson) as HardState;
    let base = JSON.parse(meta(LEGACY_BASE)!) as LogBase;
    let entries = db
      .prepare<[number], LogRow>('SELECT idx, epoch, kind, data FROM log WHERE idx > ? ORDER BY idx')
      .all(base.index)
      .map((r): Entry => ({ index: r.idx, epoch: r.epoch, kind: r.kind as EntryKind, data: new Uint8Array(r.data) }));
    const members = meta(LEGACY_MEMBERS);
    if (members !== undefined) ({ base, entries } = withMembers(members, base, entries));
    const appliedIndex = Number(meta(META.applied));
    const at = entries.find((e) => e.index === appliedIndex);
    const configs = entries.filter((e) => e.kind === 'config' && e.index <= appliedIndex);
    applied = {
      epoch: at ? at.epoch : base.epoch,
      config: configs.length > 0 ? decodeConfig(configs[configs.length - 1]!) : base.config,
    };
    // An earlier attempt that got as far as renaming the directory into place wrote all of it.
    if (!existsSync(logDir) || !readdirSync(logDir).some(isSegmentName)) {
      writeLogDirectory(
        logDir,
        { prevIndex: base.index, prevEpoch: base.epoch, config: base.config, hard, reset: false },
        entries,
      );
    }
  }
  db.pragma('synchronous = FULL');
  db.transaction(() => {
    const set = db.prepare(
      'INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    if (applied) {
      set.run(META.appliedEpoch, String(applied.epoch));
      set.run(META.appliedConfig, JSON.stringify(applied.config));
    }
    db.prepare('DELETE FROM replica_meta WHERE key IN (?, ?, ?)').run(LEGACY_HARD, LEGACY_BASE, LEGACY_MEMBERS);
    db.exec('DROP TABLE log');
  })();
}

/**
 * Directories from before membership changes hold configs with only an in-sync
 * set, and the member ids beside them: rewrite those configs with the members
 * (slots in id order, as the epochs were dealt; addresses come from the start's
 * --peers).
 */
function withMembers(legacy: string, base: LogBase, entries: Entry[]): { base: LogBase; entries: Entry[] } {
  const members = initialConfig(legacy.split(',').map((id) => ({ id, address: '' })));
  const upgrade = (inSync: string[], index: number, epoch: number): Config => ({ ...members, inSync, index, epoch });
  const oldBase = base.config as unknown as { inSync: string[]; index: number; epoch: number };
  return {
    base: { ...base, config: upgrade(oldBase.inSync, oldBase.index, oldBase.epoch) },
    entries: entries.map((e) => {
      if (e.kind !== 'config') return e;
      const old = JSON.parse(new TextDecoder().decode(e.data)) as { inSync: string[] };
      return { ...e, data: encodeConfig(upgrade(old.inSync, e.index, e.epoch)) };
    }),
  };
}
