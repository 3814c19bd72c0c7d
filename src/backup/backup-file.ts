/**
 * The backup file `chat-ops snapshot save` writes and `chat-server restore`
 * reads: a first line naming the format, a line of JSON (the header: where the
 * state stands in the log, its size and SHA-256, and what took it), then the
 * snapshot's bytes as the leader sent them (the chat state machine's snapshot
 * format). Nothing in it is trusted on reading: sizes, the checksum and the
 * header's fields are checked before anything is restored.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

export const BACKUP_MAGIC = 'chat-backup 1';
/** A header line longer than this is not one of ours. */
const MAX_HEADER_BYTES = 64 * 1024;

export interface BackupHeader {
  cluster: string;
  mode: string;
  /** The replica that took it (the leader then), and its build. */
  takenFrom: string;
  version: string;
  commit: string;
  schemaVersion: number;
  /** The chat state as applied up to this log entry. */
  lastIndex: number;
  lastEpoch: number;
  sizeBytes: number;
  /** Hex SHA-256 of the bytes after the header. */
  sha256: string;
  /** ISO 8601. */
  takenAt: string;
}

export class BackupFileError extends Error {}

/**
 * Writes a backup as its bytes arrive: into `path`.partial, checking the size
 * and checksum the header announced at the end, then renamed to `path` (after
 * an fsync), so `path` only ever holds a whole, verified backup.
 */
export class BackupWriter {
  private readonly partial: string;
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly header: BackupHeader,
  ) {
    this.partial = `${path}.partial`;
    this.fd = openSync(this.partial, 'w', 0o600);
    writeSync(this.fd, `${BACKUP_MAGIC}\n${JSON.stringify(header)}\n`);
  }

  write(chunk: Uint8Array): void {
    this.written += chunk.length;
    if (this.written > this.header.sizeBytes)
      throw new BackupFileError(`the leader sent more than the ${this.header.sizeBytes} bytes it announced`);
    this.hash.update(chunk);
    writeSync(this.fd, chunk);
  }

  /** Verifies and puts the file in place. */
  finish(): void {
    if (this.written !== this.header.sizeBytes)
      throw new BackupFileError(`the backup ended after ${this.written} of ${this.header.sizeBytes} bytes`);
    const sha256 = this.hash.digest('hex');
    if (sha256 !== this.header.sha256)
      throw new BackupFileError(
        `the bytes received do not match the leader's checksum (${sha256} instead of ${this.header.sha256})`,
      );
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.done = true;
    renameSync(this.partial, this.path);
  }

  headerInfo(): BackupHeader {
    return { ...this.header };
  }

  /** Removes what was written after a failure. */
  abandon(): void {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    rmSync(this.partial, { force: true });
  }
}

function field<T>(h: Record<string, unknown>, name: string, check: (v: unknown) => v is T): T {
  const v = h[name];
  if (!check(v)) throw new BackupFileError(`the backup's header has no valid "${name}"`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Reads and checks a backup file: the format line, the header, the size and the SHA-256 of the state's bytes. */
export function readBackupFile(path: string): { header: BackupHeader; data: Buffer } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new BackupFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const first = bytes.indexOf(0x0a);
  const second = first < 0 ? -1 : bytes.indexOf(0x0a, first + 1);
  if (
    first < 0 ||
    bytes.subarray(0, first).toString('utf8') !== BACKUP_MAGIC ||
    second < 0 ||
    second - first > MAX_HEADER_BYTES
  ) {
    throw new BackupFileError(
      `${path} is not a chat backup (it does not start with "${BACKUP_MAGIC}" and a header line)`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.subarray(first + 1, second).toString('utf8'));
  } catch {
    throw new BackupFileError(`${path}: the header line is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null)
    throw new BackupFileError(`${path}: the header line is not a JSON object`);
  const h = raw as Record<string, unknown>;
  const header: BackupHeader = {
    cluster: field(h, 'cluster', isString),
    mode: field(h, 'mode', isString),
    takenFrom: field(h, 'takenFrom', isString),
    version: field(h, 'version', isString),
    commit: field(h, 'commit', isString),
    schemaVersion: field(h, 'schemaVersion', isCount),
    lastIndex: field(h, 'lastIndex', isCount),
    lastEpoch: field(h, 'lastEpoch', isCount),
    sizeBytes: field(h, 'sizeBytes', isCount),
    sha256: field(h, 'sha256', (v): v is string => isString(v) && /^[0-9a-f]{64}$/.test(v)),
    takenAt: field(h, 'takenAt', isString),
  };
  const data = bytes.subarray(second + 1);
  if (data.length !== header.sizeBytes)
    throw new BackupFileError(
      `${path} is damaged or cut short: ${data.length} bytes of state where the header says ${header.sizeBytes}`,
    );
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (sha256 !== header.sha256)
    throw new BackupFileError(`${path} is damaged: the state's SHA-256 is ${sha256}, the header says ${header.sha256}`);
  return { header, data };
}
