import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Database } from 'better-sqlite3';
import type { Stmt } from './statements.js';
import { isSafeInt, usernameKey } from './validation.js';

/** Table dumps in canonical order (primary key order); one tag per table. */
const DUMPS = [
  { tag: 'c', table: 'chat_counters', sql: 'SELECT name, value FROM chat_counters ORDER BY name' },
  {
    tag: 'a',
    table: 'chat_accounts',
    sql: 'SELECT id, username, password_hash, created_at, deleted_at, unread_count FROM chat_accounts ORDER BY id',
  },
  {
    tag: 's',
    table: 'chat_sessions',
    sql: 'SELECT token_hash, user_id, created_at FROM chat_sessions ORDER BY token_hash',
  },
  {
    tag: 'm',
    table: 'chat_messages',
    sql: 'SELECT id, sender_id, recipient_id, text, sent_at, read_at, hidden_for_sender, hidden_for_recipient FROM chat_messages ORDER BY id',
  },
  {
    tag: 'i',
    table: 'chat_idempotency',
    sql: 'SELECT scope, key, op_type, created_at, outcome FROM chat_idempotency ORDER BY scope, key',
  },
] as const;

type DumpTag = (typeof DUMPS)[number]['tag'];
type Cell = string | number | null;

const SNAPSHOT_MAGIC = Buffer.from('CHATST01', 'ascii');
const SNAPSHOT_FRAME_BYTES = 1 << 20;
/**
 * The most text one frame may unpack to: a frame holds about SNAPSHOT_FRAME_BYTES
 * of lines and one more line, so anything far beyond is not ours (a gzip bomb
 * would otherwise unpack into as much memory as it likes).
 */
const SNAPSHOT_FRAME_MAX_TEXT = 16 * SNAPSHOT_FRAME_BYTES;
const DIGEST_HEADER = 'chat-state-v1\n';

/** Column kinds of each dumped table, for checking an imported snapshot. */
const ROW_SHAPES: Record<DumpTag, readonly ('int' | 'int?' | 'str' | 'flag')[]> = {
  c: ['str', 'int'],
  a: ['int', 'str', 'str', 'int', 'int?', 'int'],
  s: ['str', 'int', 'int'],
  m: ['int', 'int', 'int', 'str', 'int', 'int?', 'flag', 'flag'],
  i: ['str', 'str', 'str', 'int', 'str'],
};

const IMPORT_SQL: Record<DumpTag, string> = {
  c: 'INSERT INTO chat_counters (name, value) VALUES (?, ?)',
  a: 'INSERT INTO chat_accounts (id, username, password_hash, created_at, deleted_at, unread_count, name_key) VALUES (?, ?, ?, ?, ?, ?, ?)',
  s: 'INSERT INTO chat_sessions (token_hash, user_id, created_at) VALUES (?, ?, ?)',
  m: 'INSERT INTO chat_messages (id, sender_id, recipient_id, text, sent_at, read_at, hidden_for_sender, hidden_for_recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  i: 'INSERT INTO chat_idempotency (scope, key, op_type, created_at, outcome) VALUES (?, ?, ?, ?, ?)',
};

/** Tables cleared by importState, children before parents. */
const CLEAR_ORDER = ['chat_idempotency', 'chat_messages', 'chat_sessions', 'chat_accounts', 'chat_counters'] as const;

/**
 * The chat state as bytes and back: every chat table dumped as canonical JSON
 * lines, framed and gzipped for a snapshot, and digested for comparing replicas.
 */
export class SnapshotFormat {
  private readonly dumps: { tag: DumpTag; stmt: Stmt<[], Cell[]> }[];
  private readonly clears: Stmt<[]>[];
  private readonly chatIndexes: Stmt<[], { name: string; sql: string }>;
  private readonly imports: Record<DumpTag, Stmt<Cell[]>>;
  private readonly importInTransaction: (data: Buffer) => void;

  constructor(private readonly db: Database) {
    const p = <P extends unknown[], R = unknown>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql);
    this.dumps = DUMPS.map((d) => ({ tag: d.tag, stmt: p<[], Cell[]>(d.sql).raw() }));
    this.clears = CLEAR_ORDER.map((table) => p<[]>(`DELETE FROM ${table}`));
    this.chatIndexes = p<[], { name: string; sql: string }>(
      `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
         AND tbl_name IN (${CLEAR_ORDER.map((t) => `'${t}'`).join(', ')}) ORDER BY name`,
    );
    this.imports = {
      c: p<Cell[]>(IMPORT_SQL.c),
      a: p<Cell[]>(IMPORT_SQL.a),
      s: p<Cell[]>(IMPORT_SQL.s),
      m: p<Cell[]>(IMPORT_SQL.m),
      i: p<Cell[]>(IMPORT_SQL.i),
    };
    this.importInTransaction = db.transaction((data: Buffer) => this.importRows(data));
  }

  /** Every row of every chat table as canonical JSON lines, in a fixed order. */
  private *lines(): Generator<string> {
    for (const { tag, stmt } of this.dumps) {
      for (const row of stmt.iterate()) yield JSON.stringify([tag, ...row]) + '\n';
    }
  }

  digest(): string {
    const hash = createHash('sha256').update(DIGEST_HEADER);
    let pending = '';
    for (const line of this.lines()) {
      pending += line;
      if (pending.length >= 1 << 16) {
        hash.update(pending);
        pending = '';
      }
    }
    return hash.update(pending).digest('hex');
  }

  /**
   * Format: the magic `CHATST01`, then frames of (u32 big-endian length, gzip of
   * JSON lines). The last line is `["end", rows, digest]`; the digest is the
   * same as `digest()` of the exported state.
   */
  exportState(): Buffer {
    const hash = createHash('sha256').update(DIGEST_HEADER);
    const frames: Buffer[] = [SNAPSHOT_MAGIC];
    let pending: string[] = [];
    let pendingBytes = 0;
    let rows = 0;
    const flush = (): void => {
      if (pending.length === 0) return;
      const packed = gzipSync(Buffer.from(pending.join(''), 'utf8'));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(packed.length);
      frames.push(length, packed);
      pending = [];
      pendingBytes = 0;
    };
    for (const line of this.lines()) {
      hash.update(line);
      rows++;
      pending.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= SNAPSHOT_FRAME_BYTES) flush();
    }
    pending.push(JSON.stringify(['end', rows, hash.digest('hex')]) + '\n');
    flush();
    return Buffer.concat(frames);
  }

  /** Replaces every chat table's content with the snapshot's, in one transaction (the caller's, if open). */
  importState(data: Buffer): void {
    this.importInTransaction(data);
  }

  /**
   * Why a snapshot would not import (the same checks as importState, nothing
   * written), or undefined. Reads it a frame at a time, so a snapshot still in
   * a file is checked without being held in memory.
   */
  check(source: SnapshotSource): string | undefined {
    try {
      walkRows(source, () => undefined);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private importRows(data: Buffer): void {
    const source = bufferSource(data);
    readMagic(source);
    // Bulk loading is about twice as fast with the secondary indexes built afterwards
    // (one sort each instead of a b-tree insert per row). The definitions are read
    // from the schema, so later migrations are covered; a failure rolls all of it back.
    const indexes = this.chatIndexes.all();
    for (const index of indexes) this.db.exec(`DROP INDEX ${quoteIdentifier(index.name)}`);
    for (const clear of this.clears) clear.run();
    walkRows(source, (tag, values) => this.imports[tag].run(...values));
    for (const index of indexes) this.db.exec(index.sql);
  }
}

/** A snapshot's bytes, read a piece at a time: from memory or from a file. */
export interface SnapshotSource {
  size: number;
  read(position: number, length: number): Buffer;
}

function bufferSource(data: Buffer): SnapshotSource {
  return { size: data.length, read: (position, length) => data.subarray(position, position + length) };
}

/** A snapshot in a file, read a frame at a time. */
export function fileSnapshotSource(path: string): SnapshotSource & { close(): void } {
  const fd = openSync(path, 'r');
  return {
    size: fstatSync(fd).size,
    read: (position, length) => {
      const piece = Buffer.alloc(length);
      const got = readSync(fd, piece, 0, length, position);
      return piece.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

function readMagic(source: SnapshotSource): void {
  if (source.size < SNAPSHOT_MAGIC.length || !source.read(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw importError('not a chat state snapshot (wrong header)');
  }
}

/** Checks every frame and row of a snapshot, handing each row to `onRow`; throws at the first problem. */
function walkRows(source: SnapshotSource, onRow: (tag: DumpTag, values: Cell[]) => void): void {
  readMagic(source);
  const bad = importError;
  const hash = createHash('sha256').update(DIGEST_HEADER);
  let rows = 0;
  let ended = false;
  let offset = SNAPSHOT_MAGIC.length;
  while (offset < source.size) {
    if (ended) throw bad('data after the end record');
    if (offset + 4 > source.size) throw bad('truncated frame header');
    const length = source.read(offset, 4).readUInt32BE(0);
    offset += 4;
    if (offset + length > source.size) throw bad('truncated frame');
    let text: string;
    try {
      text = gunzipSync(source.read(offset, length), { maxOutputLength: SNAPSHOT_FRAME_MAX_TEXT }).toString('utf8');
    } catch (err) {
      throw bad(`corrupt frame (${(err as Error).message})`);
    }
    offset += length;
    let start = 0;
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      if (end < 0) throw bad('a frame ends inside a line');
      const line = text.slice(start, end + 1);
      start = end + 1;
      if (ended) throw bad('data after the end record');
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw bad(`unreadable line after ${rows} rows`);
      }
      if (!Array.isArray(parsed) || parsed.length === 0) throw bad(`unreadable line after ${rows} rows`);
      const [tag, ...cells] = parsed as unknown[];
      if (tag === 'end') {
        const digest = hash.digest('hex');
        if (cells[0] !== rows || cells[1] !== digest) {
          throw bad(`the content does not match its end record (${rows} rows read)`);
        }
        ended = true;
        continue;
      }
      if (typeof tag !== 'string' || !(tag in ROW_SHAPES)) throw bad(`unknown row kind ${JSON.stringify(tag)}`);
      const shape = ROW_SHAPES[tag as DumpTag];
      if (cells.length !== shape.length || !cells.every((cell, i) => cellFits(cell, shape[i]!))) {
        throw bad(`malformed ${tag} row after ${rows} rows`);
      }
      hash.update(line);
      rows++;
      const values = cells as Cell[];
      if (tag === 'a') values.push(usernameKey(values[1] as string));
      onRow(tag as DumpTag, values);
    }
  }
  if (!ended) throw bad('the snapshot is truncated (no end record)');
}

function importError(why: string): Error {
  return new Error(`cannot import chat state: ${why}`);
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function cellFits(cell: unknown, kind: 'int' | 'int?' | 'str' | 'flag'): boolean {
  switch (kind) {
    case 'int':
      return isSafeInt(cell);
    case 'int?':
      return cell === null || isSafeInt(cell);
    case 'str':
      return typeof cell === 'string';
    case 'flag':
      return cell === 0 || cell === 1;
  }
}
