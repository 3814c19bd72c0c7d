/**
 * The global options every command shares: which replicas to talk to and how
 * (TLS). Checked up front so a typo is a usage error (exit 2), not a timeout.
 */
import { readFileSync } from 'node:fs';
import type { ClientOptions, TlsOptions } from '../client/api.js';

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

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** TLS settings from --tls-ca/--tls-cert/--tls-key, or undefined for plaintext. */
export function tlsFromOptions(o: GlobalOptionValues): TlsOptions | undefined {
  if (!o.tlsCa && !o.tlsCert && !o.tlsKey) return undefined;
  if (!o.tlsCa) throw new UsageError('--tls-cert/--tls-key need --tls-ca (the CA that signed the servers\' certificates)');
  if (!!o.tlsCert !== !!o.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
  const tls: TlsOptions = { ca: readPem(o.tlsCa, 'CA certificate') };
  if (o.tlsCert && o.tlsKey) {
    tls.cert = readPem(o.tlsCert, 'client certificate');
    tls.key = readPem(o.tlsKey, 'client key');
  }
  return tls;
}

/** Client options for the cluster calls: short deadlines, so a dead replica shows as down quickly. */
export function clientOptions(o: GlobalOptionValues): ClientOptions {
  const servers = parseServers(o.servers ?? DEFAULT_SERVERS);
  const tls = tlsFromOptions(o);
  return { servers, deadlineMs: 1500, retryBudgetMs: 3000, ...(tls ? { tls } : {}) };
}
