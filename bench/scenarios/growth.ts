/**
 * How one replica group's costs grow with its store (docs/scaling.md), on the
 * prepared store of --messages messages and --users accounts (built offline,
 * see bench/lib/dataset.ts). Run it at two or three sizes to see the trend:
 *
 * - footprint: bytes on disk per table and index (SQLite's dbstat), of the
 *   store and of one with the same accounts and no messages; from them, bytes
 *   per account and per message;
 * - restart: the restart scenario on this store (cold start of the cluster,
 *   a follower's restart);
 * - catch-up from the log: a follower misses --catchup entries and returns;
 * - catch-up by snapshot: the leader keeps a short log, so a follower that
 *   missed a little gets the whole store as a snapshot;
 * - the snapshot's two halves alone, in this process: the leader's export
 *   (ChatState.exportState, on a worker thread in a replica) and the
 *   follower's import (ChatState.importState, on its event loop) into an
 *   empty data directory;
 * - the part of a restart that reads the store, alone, in this process, on a
 *   copy of it (so with the page cache warm, as after a clean stop): opening
 *   the database, the log store and the state machine, and loading what the
 *   replication core resumes from.
 *
 * The in-process parts report CPU time as well as wall time: on a machine
 * shared with other work, CPU time is the steadier of the two.
 *
 * Not part of a plain `npm run bench`: ask for it with --scenario growth.
 */
import BetterSqlite3 from 'better-sqlite3';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ChatState } from '../../src/server/chat/chat-state.js';
import { ReplicaCore } from '../../src/server/replication/core.js';
import { logDirectory, openReplicaDatabase } from '../../src/server/replica-database.js';
import { DATABASE_FILE } from '../../src/server/sqlite/database.js';
import { NodeLogFiles } from '../../src/server/storage/log-files.js';
import { SegmentedLog } from '../../src/server/storage/segmented-log.js';
import { SqliteStateStore } from '../../src/server/storage/state-store.js';
import { resumePoint } from '../../src/server/replica/resume.js';
import type { BenchContext } from '../lib/context.js';
import type { Dataset } from '../lib/dataset.js';
import { runCatchup, type CatchupResult } from './catchup.js';
import { runRestart, type RestartResult } from './store.js';

/** Bytes and rows of one table with its indexes. */
export interface TableFootprint {
  table: string;
  rows: number;
  /** Pages of the table itself (for WITHOUT ROWID tables: its primary key). */
  tableBytes: number;
  /** Pages of its indexes, by name. */
  indexBytes: Record<string, number>;
  totalBytes: number;
}

export interface StoreFootprint {
  users: number;
  messages: number;
  fileBytes: number;
  tables: TableFootprint[];
}

export interface GrowthResult {
  messages: number;
  users: number;
  store: StoreFootprint;
  /** The same accounts and sessions, no messages. */
  accountsOnly: StoreFootprint;
  bytesPerAccount: number;
  /** chat_messages and its indexes, per message. */
  bytesPerMessage: number;
  /** One idempotency row (kept 24 hours for every write). */
  bytesPerIdempotencyRow: number;
  /** One entry of the replicated log (kept until compaction). */
  bytesPerLogEntry: number;
  /**
   * The snapshot of the whole store: its bytes (gzip frames of JSON lines) and those lines' bytes unpacked (the
   * store's text is one repeated letter, so the packed size is far below what real text gives), export and import
   * times (ms, wall and CPU of this process).
   */
  snapshotImage: {
    bytes: number;
    rawBytes: number;
    exportMs: number;
    exportCpuMs: number;
    importMs: number;
    importCpuMs: number;
  };
  /** A replica's start up to its core, on a copy of the store: ms, wall and CPU. */
  openStore: { ms: number; cpuMs: number };
  /** The parts with whole clusters; each may fail on its own (a busy machine), recorded without losing the rest. */
  restart: RestartResult | Failed;
  logCatchup: CatchupResult | Failed;
  snapshotCatchup: CatchupResult | Failed;
}

export interface Failed {
  failed: string;
}

async function attempt<T>(ctx: BenchContext, what: string, run: () => Promise<T>): Promise<T | Failed> {
  try {
    return await run();
  } catch (err) {
    ctx.log(`  ${what} FAILED: ${(err as Error).message.split('\n')[0]}`);
    return { failed: (err as Error).message };
  }
}

const TABLES = ['chat_accounts', 'chat_sessions', 'chat_messages', 'chat_idempotency', 'log'] as const;

/** Reads dbstat of a store's database (read-only): what each table and index takes on disk. */
export function footprint(ds: Dataset, users: number): StoreFootprint {
  const file = join(ds.dir, DATABASE_FILE);
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const pages = new Map(
      (
        db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all() as {
          name: string;
          bytes: number;
        }[]
      ).map((r) => [r.name, r.bytes]),
    );
    const indexes = db.prepare("SELECT name, tbl_name AS tbl FROM sqlite_schema WHERE type = 'index'").all() as {
      name: string;
      tbl: string;
    }[];
    const tables = TABLES.map((table): TableFootprint => {
      const rows = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      const indexBytes = Object.fromEntries(
        indexes.filter((i) => i.tbl === table).map((i) => [i.name, pages.get(i.name) ?? 0]),
      );
      const tableBytes = pages.get(table) ?? 0;
      return {
        table,
        rows,
        tableBytes,
        indexBytes,
        totalBytes: tableBytes + Object.values(indexBytes).reduce((a, b) => a + b, 0),
      };
    });
    return { users, messages: ds.messages, fileBytes: statSync(file).size, tables };
  } finally {
    db.close();
  }
}

function perRow(fp: StoreFootprint, table: (typeof TABLES)[number]): number {
  const t = fp.tables.find((x) => x.table === table)!;
  return t.rows > 0 ? Math.round(t.totalBytes / t.rows) : 0;
}

/** The unpacked size of a snapshot image: 8 bytes of magic, then frames of (u32 length, gzip). */
function unpackedBytes(image: Buffer): number {
  let total = 0;
  for (let at = 8; at < image.length;) {
    const length = image.readUInt32BE(at);
    total += gunzipSync(image.subarray(at + 4, at + 4 + length)).length;
    at += 4 + length;
  }
  return total;
}

function timed<T>(f: () => T): { value: T; ms: number; cpuMs: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = f();
  const c = process.cpuUsage(c0);
  return { value, ms: Math.round(performance.now() - t0), cpuMs: Math.round((c.user + c.system) / 1000) };
}

/** What a replica does with its store before it answers (src/server/replica/driver.ts), on a copy of the store. */
export function openStore(ds: Dataset, tmp: string): GrowthResult['openStore'] {
  const dir = mkdtempSync(join(tmp, 'growth-open-'));
  try {
    cpSync(ds.dir, dir, { recursive: true });
    const {
      value: db,
      ms,
      cpuMs,
    } = timed(() => {
      const opened = openReplicaDatabase(dir);
      const initial = ReplicaCore.initialState([]);
      const applied = new SqliteStateStore(opened).open('chat', 'in-sync', {
        lastIndex: 0,
        lastEpoch: 0,
        config: initial.base.config,
      });
      new ChatState(opened);
      const log = new SegmentedLog(new NodeLogFiles(logDirectory(dir))).load(initial);
      new ReplicaCore({ id: 'A', bootstrap: [], seed: 1 }, resumePoint(log, applied).persisted, Date.now());
      return opened;
    });
    db.close();
    return { ms, cpuMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Times ChatState.exportState on the store and ChatState.importState of the image into an empty data directory. */
export function snapshotImage(ds: Dataset, tmp: string): GrowthResult['snapshotImage'] {
  const source = new BetterSqlite3(join(ds.dir, DATABASE_FILE), { readonly: true });
  const exported = timed(() => new ChatState(source).exportState());
  source.close();
  const dir = mkdtempSync(join(tmp, 'growth-import-'));
  const target = openReplicaDatabase(dir);
  try {
    const chat = new ChatState(target);
    const imported = timed(() => chat.importState(exported.value));
    return {
      bytes: exported.value.length,
      rawBytes: unpackedBytes(exported.value),
      exportMs: exported.ms,
      exportCpuMs: exported.cpuMs,
      importMs: imported.ms,
      importCpuMs: imported.cpuMs,
    };
  } finally {
    target.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runGrowth(ctx: BenchContext): Promise<GrowthResult> {
  const users = ctx.settings.storeUsers;
  const large = await ctx.largeStore();
  const empty = await ctx.usersStore();
  const store = footprint(large, users);
  const accountsOnly = footprint(empty, users);
  const accountTables = accountsOnly.tables.filter((t) => t.table === 'chat_accounts' || t.table === 'chat_sessions');
  const bytesPerAccount = Math.round(accountTables.reduce((s, t) => s + t.totalBytes, 0) / users);
  const bytesPerMessage = perRow(store, 'chat_messages');
  ctx.log(
    `  ${large.messages.toLocaleString('en-US')} messages, ${users} accounts: ${(store.fileBytes / 2 ** 20).toFixed(1)} MiB; ${bytesPerMessage} bytes per message, ${bytesPerAccount} per account (with its session)`,
  );

  const image = snapshotImage(large, ctx.tmp);
  ctx.log(
    `  snapshot image ${(image.bytes / 2 ** 20).toFixed(1)} MiB (${(image.rawBytes / 2 ** 20).toFixed(1)} MiB unpacked): export ${image.exportMs} ms (CPU ${image.exportCpuMs}), import ${image.importMs} ms (CPU ${image.importCpuMs})`,
  );
  const opened = openStore(large, ctx.tmp);
  ctx.log(`  opening the store and loading the replica's state: ${opened.ms} ms (CPU ${opened.cpuMs})`);
  const restart = await attempt(ctx, 'restart', () => runRestart(ctx));
  const backlog = ctx.settings.catchupEntries;
  const logCatchup = await attempt(ctx, 'catch-up from the log', () =>
    runCatchup(ctx, { seedDataDir: large.dir, backlog }),
  );
  // The leader keeps 200 entries: a follower that missed 2,000 gets a snapshot of the whole store.
  const snapshotCatchup = await attempt(ctx, 'catch-up by snapshot', async () => {
    const r = await runCatchup(ctx, { seedDataDir: large.dir, backlog: 2_000, snapshotRetain: 200 });
    const failures = r.snapshotFailures ?? [];
    if (!r.snapshot && failures.length === 0)
      throw new Error('the returning follower caught up without a snapshot: the log was not compacted past it');
    for (const f of failures) ctx.log(`  a snapshot transfer failed ${f.afterMs} ms after it was sent: ${f.message}`);
    const sent = r.snapshot
      ? `a snapshot of ${(r.snapshot.bytes / 2 ** 20).toFixed(1)} MiB streamed in ${r.snapshot.ms} ms`
      : 'no snapshot transfer completed';
    ctx.log(`  ${sent}; caught up in ${r.ms} ms, follower in sync ${r.restartToInSyncMs} ms after its start`);
    return r;
  });
  return {
    messages: large.messages,
    users,
    store,
    accountsOnly,
    bytesPerAccount,
    bytesPerMessage,
    bytesPerIdempotencyRow: perRow(store, 'chat_idempotency'),
    bytesPerLogEntry: perRow(store, 'log'),
    snapshotImage: image,
    openStore: opened,
    restart,
    logCatchup,
    snapshotCatchup,
  };
}
