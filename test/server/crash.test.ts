import { describe, expect, it } from 'vitest';
import { describeCrash, isStorageError } from '../../src/server/crash.js';

function sqliteError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('why a serving replica stopped', () => {
  it('names a full disk and what to do about it', () => {
    const text = describeCrash(sqliteError('SQLITE_FULL', 'database or disk is full'), 'data/C');
    expect(text).toContain('the disk holding data/C is full (database or disk is full)');
    expect(text).toContain('Free space there and start it again');
  });

  it('names a failing disk and a damaged database', () => {
    expect(describeCrash(sqliteError('SQLITE_IOERR_FSYNC', 'disk I/O error'), 'data/A')).toBe(
      'reading or writing data/A failed (SQLITE_IOERR_FSYNC: disk I/O error); this replica stops. Check the disk, then start it again.',
    );
    expect(describeCrash(sqliteError('SQLITE_CORRUPT', 'database disk image is malformed'), 'data/A')).toMatch(
      /^the database in data\/A is damaged/,
    );
  });

  it("names the same for the log's files: a full disk, a failing one", () => {
    expect(describeCrash(sqliteError('ENOSPC', 'no space left on device, write'), 'data/B')).toMatch(
      /^the disk holding data\/B is full \(no space left on device, write\)/,
    );
    expect(describeCrash(sqliteError('EIO', 'i/o error, fdatasync'), 'data/B')).toBe(
      'reading or writing data/B failed (EIO: i/o error, fdatasync); this replica stops. Check the disk, then start it again.',
    );
    expect(isStorageError(sqliteError('ENOSPC', 'full'))).toBe(true);
    expect(isStorageError(sqliteError('ENOENT', 'no such file'))).toBe(false);
  });

  it('keeps the stack of anything else, for the bug report', () => {
    const err = new TypeError('x is undefined');
    const text = describeCrash(err, 'data/A');
    expect(text).toMatch(/^stopped by an unexpected error: TypeError: x is undefined\n\s+at /);
  });

  it("tells the disk's errors from the rest", () => {
    expect(isStorageError(sqliteError('SQLITE_FULL', 'full'))).toBe(true);
    expect(isStorageError(sqliteError('SQLITE_IOERR_SHMSIZE', 'disk I/O error'))).toBe(true);
    expect(isStorageError(sqliteError('SQLITE_CONSTRAINT_UNIQUE', 'unique'))).toBe(false);
    expect(isStorageError(new Error('plain'))).toBe(false);
  });
});
