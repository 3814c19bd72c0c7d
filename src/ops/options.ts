/**
 * The global options every command shares: which replicas to talk to and how
 * (TLS). Checked up front so a typo is a usage error (exit 2), not a timeout.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientOptions, TlsOptions } from '../client/api.js';
import { readCredentialFile, tlsFromFiles, TlsFilesError } from '../client/credentials.js';
import { ADMIN_TOKEN_FILE, DEFAULT_DATA_ROOT } from '../launch/local-cluster/layout.js';

export const DEFAULT_SERVERS = '127.0.0.1:50051,127.0.0.1:50052,127.0.0.1:50053';

/** A problem with the command line; the CLI prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface GlobalOptionValues {
  servers?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  adminTokenFile?: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** One host:port address, or a UsageError saying what it is not. */
export function checkHostPort(address: string, what = 'address'): string {
  const m = HOST_PORT.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`"${address}" is not a host:port ${what}`);
  return address;
}

/** Parses "a:1,b:2" into addresses, rejecting anything that is not host:port. */
export function parseServers(list: string): string[] {
  const servers = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError('no servers given (--servers host:port,host:port)');
  for (const s of servers) checkHostPort(s);
  return [...new Set(servers)];
}

/** A credential file's bytes; a file that cannot be read is a usage error. */
function readFile(path: string, what: string): Buffer {
  return usageOnTlsFilesError(() => readCredentialFile(path, what));
}

function usageOnTlsFilesError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof TlsFilesError) throw new UsageError(err.message);
    throw err;
  }
}

/** TLS settings from --tls-ca/--tls-cert/--tls-key, or undefined for plaintext. */
export function tlsFromOptions(o: GlobalOptionValues): TlsOptions | undefined {
  return usageOnTlsFilesError(() => tlsFromFiles({ ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey }));
}

/**
 * The admin token for the calls that change the cluster: from --admin-token-file
 * (CHAT_ADMIN_TOKEN_FILE), else CHAT_ADMIN_TOKEN, else, for the local cluster
 * (no --servers), the file it keeps in its data folder (CHAT_LOCAL_DATA, default .data).
 */
export function adminTokenFromOptions(o: GlobalOptionValues, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (o.adminTokenFile) return readFile(o.adminTokenFile, 'admin token file').toString('utf8').trim();
  const fromEnv = env.CHAT_ADMIN_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const local = join(env.CHAT_LOCAL_DATA ?? DEFAULT_DATA_ROOT, ADMIN_TOKEN_FILE);
  if ((o.servers ?? DEFAULT_SERVERS) === DEFAULT_SERVERS && existsSync(local))
    return readFile(local, 'admin token file').toString('utf8').trim();
  return undefined;
}

/** Client options for the cluster calls: short deadlines, so a dead replica shows as down quickly. */
export function clientOptions(o: GlobalOptionValues, env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const servers = parseServers(o.servers ?? DEFAULT_SERVERS);
  const tls = tlsFromOptions(o);
  const adminToken = adminTokenFromOptions(o, env);
  return {
    servers,
    deadlineMs: 1500,
    retryBudgetMs: 3000,
    ...(tls ? { tls } : {}),
    ...(adminToken ? { adminToken } : {}),
  };
}
