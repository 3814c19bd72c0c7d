/**
 * Who may read a replica's files: its data directory holds password hashes,
 * session token hashes and every message, and the secret and token files let
 * their holder act as a replica or an operator. The process creates files
 * 0600 and directories 0700 (umask 077, set in main.ts); at start, anything
 * in the data directory (and the secret files it reads) that others may read
 * is tightened, and the log says so.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from './replication/endpoints.js';

/** Bits of group and others. */
const OTHERS = 0o077;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Makes new files 0600 and new directories 0700. */
export function restrictNewFiles(): void {
  process.umask(OTHERS);
}

function tighten(path: string, mode: number, tightened: string[]): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink() || (stat.mode & OTHERS) === 0) return;
  chmodSync(path, mode);
  tightened.push(`${path} (was ${(stat.mode & 0o777).toString(8)})`);
}

/**
 * Creates the data directory (0700) if needed and makes it and everything in it
 * (two levels down) private to this user; logs what it changed.
 */
export function protectDataDir(dataDir: string, logger: Logger): void {
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  const tightened: string[] = [];
  const walk = (dir: string, depth: number) => {
    tighten(dir, DIR_MODE, tightened);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && depth > 0) walk(path, depth - 1);
      else if (entry.isFile()) tighten(path, FILE_MODE, tightened);
    }
  };
  try {
    walk(dataDir, 1);
  } catch (err) {
    // Unreadable or not ours: opening the database says so more precisely.
    logger.warn(
      { event: 'files.unchecked', dataDir, err: (err as Error).message },
      `could not check the permissions in ${dataDir}`,
    );
    return;
  }
  if (tightened.length > 0) {
    logger.warn(
      { event: 'files.tightened', files: tightened },
      `made ${tightened.length} file(s) of the data directory private to this user (others could read them): ${tightened.join(', ')}`,
    );
  }
}

/**
 * Reads a secret (the cluster secret, the admin token): the file's content,
 * whitespace at either end dropped, at least 16 characters. A file others may
 * read is made 0600 first (logged).
 */
export function readSecretFile(path: string, what: string, logger: Logger): Buffer {
  let text: string;
  try {
    const tightened: string[] = [];
    tighten(path, FILE_MODE, tightened);
    if (tightened.length > 0)
      logger.warn(
        { event: 'files.tightened', files: tightened },
        `made the ${what} ${path} private to this user (others could read it)`,
      );
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (text.length < 16)
    throw new ConfigError(
      `the ${what} ${path} holds ${text.length} characters; use at least 16 random ones (e.g. openssl rand -base64 32 > ${path})`,
    );
  return Buffer.from(text, 'utf8');
}

/** Writes a fresh random secret (0600) to `path` unless the file exists; true when it made one. */
export function ensureSecretFile(path: string): boolean {
  if (existsSync(path)) return false;
  writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: FILE_MODE, flag: 'wx' });
  return true;
}
