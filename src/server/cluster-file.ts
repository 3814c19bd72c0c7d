/**
 * The cluster file (`--cluster-file cluster.json`): its schema, strict, so a
 * typo (`lsiten`, `dataDir`) is refused by name instead of silently ignored.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { checkAddress, checkId, ConfigError } from './replication/endpoints.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const replicaSchema = z.strictObject({
  id: z.string(),
  address: z.string(),
  /** Where the other replicas reach it (default: the address with the port 1000 up). */
  peerAddress: z.string().optional(),
  listen: z.string().optional(),
  peerListen: z.string().optional(),
});

const clusterFileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  mode: z.enum(['in-sync', 'majority']).optional(),
  /** The log level of replicas started without --log-level or CHAT_LOG_LEVEL; re-read on SIGHUP. */
  logLevel: z.enum(LOG_LEVELS).optional(),
  replicas: z.array(replicaSchema).min(1),
});

export type ClusterFile = z.infer<typeof clusterFileSchema>;

/** `replicas[0].address` for a path of keys and indexes. */
function where(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

/** The first problem zod found, as one line naming the key. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const at = where(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${at ? ` in ${at}` : ''}`;
  }
  if (issue.code === 'invalid_value')
    return `${at} ${JSON.stringify(issue.input)} is not one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'too_small')
    return issue.origin === 'array' ? `${at} must list at least one replica` : `${at} must not be empty`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${at} is missing`;
  if (issue.code === 'invalid_type')
    return `${at || 'the file'} must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
  return `${at}: ${issue.message}`;
}

/** Reads and checks a cluster file; any problem is a ConfigError naming the file and the key. */
export function readClusterFile(path: string): ClusterFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read cluster file ${path}: ${(err as Error).message}`);
  }
  const result = clusterFileSchema.safeParse(parsed, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      `cluster file ${path}: ${describeIssue(result.error.issues[0]!)} (allowed: name, mode, logLevel, replicas: [{id, address, peerAddress, listen, peerListen}])`,
    );
  }
  for (const r of result.data.replicas) {
    checkId(r.id);
    checkAddress(r.address, `cluster file ${path}: address of ${r.id}`);
    for (const key of ['peerAddress', 'listen', 'peerListen'] as const) {
      const value = r[key];
      if (value !== undefined) checkAddress(value, `cluster file ${path}: ${key} of ${r.id}`);
    }
  }
  return result.data;
}
