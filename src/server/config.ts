import type { ReplicationLimits, ReplicationTimings } from './replication/types.js';
import { checkAddress, checkId, ConfigError } from './replication/endpoints.js';
import type { PeerEndpoint } from './replication/transport.js';
import { checkClusterId } from './cluster-identity.js';
import { readClusterFile } from './cluster-file.js';

export { checkAddress, checkId, ConfigError };

/** Everything a chat-server process needs to know, from options, the environment and a cluster file. */
export interface ServerConfig {
  id: string;
  cluster: string;
  /**
   * Every replica with the address others reach it at, this one included, as
   * this start names them. They found a new cluster; once the data directory
   * holds a configuration, that configuration says who the replicas are and
   * these only correct addresses.
   */
  members: PeerEndpoint[];
  /** Start with no configuration and wait to be added to a running cluster (ignored when the data directory has state). */
  join: boolean;
  /** Where this replica listens (may differ from its advertised address, e.g. 0.0.0.0:50051). */
  listen: string;
  dataDir: string;
  logLevel: string;
  logFile: string | undefined;
  tls: { cert: string; key: string; ca: string | undefined; requireClientCert: boolean } | undefined;
  timings: Partial<ReplicationTimings>;
  limits: Partial<ReplicationLimits>;
  /** Replication mode: 'in-sync' (n-1 crashes) or 'majority' (Raft quorums, partition-safe). */
  mode: 'in-sync' | 'majority';
  /** The cluster id a replica joining a restored cluster starts with (the data directory keeps it; see cluster-identity.ts). */
  clusterId: string | undefined;
  /** Where to serve /metrics, /healthz and /readyz over HTTP (host:port); off when undefined. */
  metricsListen: string | undefined;
}

/** The raw option values, as commander gives them (strings from flags or environment variables). */
export interface ServerOptionValues {
  id?: string;
  listen?: string;
  advertise?: string;
  peers?: string;
  clusterFile?: string;
  clusterName?: string;
  dataDir?: string;
  logLevel?: string;
  logFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsRequireClientCert?: boolean;
  heartbeatMs?: string;
  electionTimeoutMs?: string;
  syncTimeoutMs?: string;
  mode?: string;
  compactThreshold?: string;
  retainEntries?: string;
  join?: boolean;
  metricsListen?: string;
  clusterId?: string;
}

function positiveInt(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${what} must be a positive whole number of milliseconds, not "${value}"`);
  return n;
}

/** Parses `B=10.0.0.2:50051,C=10.0.0.3:50051`. */
export function parsePeers(text: string): PeerEndpoint[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new ConfigError(`peer "${item}" must look like ID=host:port`);
      return { id: checkId(item.slice(0, eq)), address: checkAddress(item.slice(eq + 1), `address of peer ${item.slice(0, eq)}`) };
    });
}

/**
 * The log level as configured now: --log-level or CHAT_LOG_LEVEL as given at
 * start, else the cluster file's "logLevel" (read again: SIGHUP calls this),
 * else info.
 */
export function currentLogLevel(v: ServerOptionValues): string {
  if (v.logLevel !== undefined) return v.logLevel;
  return (v.clusterFile ? readClusterFile(v.clusterFile).logLevel : undefined) ?? 'info';
}

export function resolveConfig(v: ServerOptionValues): ServerConfig {
  const file = v.clusterFile ? readClusterFile(v.clusterFile) : undefined;
  const id = checkId(v.id ?? (file?.replicas.length === 1 ? file.replicas[0]!.id : 'A'));
  let members: PeerEndpoint[];
  let listen: string | undefined = v.listen ? checkAddress(v.listen, '--listen') : undefined;
  if (file) {
    if (v.peers) throw new ConfigError('give the replicas either with --peers or in a cluster file, not both');
    members = file.replicas.map((r) => ({ id: r.id, address: r.address }));
    const self = file.replicas.find((r) => r.id === id);
    if (self) {
      listen ??= self.listen ?? self.address;
    } else if (v.join && (v.advertise || listen)) {
      // A replica being added to the cluster the file describes.
      const advertise = checkAddress(v.advertise ?? listen!, '--advertise');
      listen ??= advertise;
      members.push({ id, address: advertise });
    } else {
      throw new ConfigError(`replica ${id} is not in the cluster file ${v.clusterFile} (it has ${file.replicas.map((r) => r.id).join(', ')}); a new replica joins with --join and --listen`);
    }
  } else {
    const peers = v.peers ? parsePeers(v.peers) : [];
    const advertise = checkAddress(v.advertise ?? listen ?? '127.0.0.1:50051', '--advertise');
    listen ??= advertise;
    if (peers.some((p) => p.id === id)) throw new ConfigError(`--peers names this replica (${id}) itself; list only the others`);
    members = [{ id, address: advertise }, ...peers];
  }
  const ids = members.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new ConfigError(`replica ids must be unique: ${ids.join(', ')}`);
  if (members.length > 16) throw new ConfigError('a cluster has at most 16 replicas');
  if ((v.tlsCert === undefined) !== (v.tlsKey === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  const tls = v.tlsCert && v.tlsKey
    ? { cert: v.tlsCert, key: v.tlsKey, ca: v.tlsCa, requireClientCert: v.tlsRequireClientCert ?? false }
    : undefined;
  const electionMinMs = positiveInt(v.electionTimeoutMs, '--election-timeout-ms');
  const timings: Partial<ReplicationTimings> = {
    ...(v.heartbeatMs ? { heartbeatMs: positiveInt(v.heartbeatMs, '--heartbeat-ms') } : {}),
    ...(electionMinMs ? { electionMinMs } : {}),
    ...(v.syncTimeoutMs ? { syncTimeoutMs: positiveInt(v.syncTimeoutMs, '--sync-timeout-ms') } : {}),
  };
  const mode = v.mode ?? file?.mode ?? 'in-sync';
  if (mode !== 'in-sync' && mode !== 'majority') throw new ConfigError(`--mode must be in-sync or majority, not "${mode}"`);
  const compactThreshold = positiveInt(v.compactThreshold, '--compact-threshold');
  const retainEntries = positiveInt(v.retainEntries, '--retain-entries');
  const limits: Partial<ReplicationLimits> = {
    ...(compactThreshold ? { compactThreshold } : {}),
    ...(retainEntries ? { retainEntries } : {}),
  };
  return {
    id,
    mode,
    limits,
    join: v.join ?? false,
    cluster: v.clusterName ?? file?.name ?? 'chat',
    members,
    listen,
    dataDir: v.dataDir ?? `./data/${id}`,
    logLevel: v.logLevel ?? file?.logLevel ?? 'info',
    logFile: v.logFile,
    clusterId: v.clusterId === undefined ? undefined : checkClusterId(v.clusterId, '--cluster-id'),
    // Port 0 picks a free port (tests); the metrics.listening log line says which.
    metricsListen: v.metricsListen === undefined ? undefined : checkAddress(v.metricsListen.replace(/:0$/, ':1'), '--metrics-listen') && v.metricsListen,
    tls,
    timings,
  };
}
