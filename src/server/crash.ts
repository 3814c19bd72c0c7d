/**
 * What a replica says when it must stop after it started serving: the disk under
 * its data directory failing (full, I/O errors) or a bug. A replica does not go on
 * after a failed write: its in-memory log and the database would disagree. It
 * stops (crash-stop, as the replication rules assume), the other replicas carry
 * on, and once restarted it catches up from them.
 */

interface CodedError {
  code?: unknown;
  message?: unknown;
}

/** An error from the disk under the data directory (full, I/O, read-only, damaged), as SQLite or the file system reports it. */
export function isStorageError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as CodedError).code : undefined;
  return typeof code === 'string' && STORAGE_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}

const STORAGE_CODES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  // The file system's, for the log's segment files.
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EROFS',
];

/** The one-line reason for the log and standard error. */
export function describeCrash(err: unknown, dataDir: string): string {
  const { code, message } = (typeof err === 'object' && err !== null ? err : {}) as CodedError;
  const text = typeof message === 'string' ? message : String(err);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return (
      `the disk holding ${dataDir} is full (${text}); this replica stops rather than acknowledge writes it cannot keep. ` +
      'Free space there and start it again: nothing it acknowledged is lost, and it catches up with the other replicas.'
    );
  }
  if (typeof code === 'string' && /^(SQLITE_(IOERR|READONLY|CANTOPEN)|EIO$|EROFS$)/.test(code)) {
    return `reading or writing ${dataDir} failed (${code}: ${text}); this replica stops. Check the disk, then start it again.`;
  }
  if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
    return `the database in ${dataDir} is damaged (${code}: ${text}); this replica stops. Check the disk before starting it again.`;
  }
  return `stopped by an unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : text}`;
}
