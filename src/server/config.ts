import type { ReplicationLimits, ReplicationTimings } from './replication/types.js';
import { checkAddress, checkId, ConfigError, defaultPeerAddress } from './replication/endpoints.js';
import type { ReplicaEndpoint } from './replication/transport.js';
import { parseRate, type RateLimits } from './rpc/rate-limits.js';
import { checkClusterId } from './cluster-identity.js';
import { readClusterFile } from './cluster-file.js';

/**
 * chat-server's heartbeat: well inside the election timeout (250 ms) and half the sync timeout that
 * keeps a follower in step, and half the messages of the core's default (50 ms, which its scripted
 * scenarios keep), so an idle cluster costs little.
 */
export const SERVER_HEARTBEAT_MS = 100;

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
  members: ReplicaEndpoint[];
  /** Start with no configuration and wait to be added to a running cluster (ignored when the data directory has state). */
  join: boolean;
  /** Where this replica listens for clients (may differ from its advertised address, e.g. 0.0.0.0:50051). */
  listen: string;
  /** Where the other replicas reach this one (its peer address). */
  peerAddress: string;
  /** Where this replica listens for its peers. */
  peerListen: string;
  /** The cluster secret every replica proves (a file), when peers authenticate with it. */
  clusterSecretFile: string | undefined;
  /** --insecure-peers: peers are not authenticated at all. */
  insecurePeers: boolean;
  /** The operators' token (a file), for the calls that change the cluster. */
  adminTokenFile: string | undefined;
  /** The largest snapshot accepted from a peer. */
  maxSnapshotBytes: number | undefined;
  rateLimits: Partial<RateLimits>;
  /** Client connections at once from one address. */
  maxConnectionsPerAddress: number | undefined;
  dataDir: string;
  logLevel: string;
  logFile: string | undefined;
  /**
   * TLS for both listeners and the peer links; with `ca`, peers must present
   * certificates signed by it that name them, and clients may (operators).
   */
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
  peerListen?: string;
  peerAdvertise?: string;
  peers?: string;
  clusterSecretFile?: string;
  insecurePeers?: boolean;
  adminTokenFile?: string;
  maxSnapshotMb?: string;
  loginLimitAccount?: string;
  loginLimitAddress?: string;
  sendLimitSession?: string;
  maxConnectionsPerAddress?: string;
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

function positiveInt(value: string | undefined, what: string, unit = 'milliseconds'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(`${what} must be a positive whole number of ${unit}, not "${value}"`);
  return n;
}

/**
 * Parses `B=10.0.0.2:50051,C=10.0.0.3:50051`: each replica's client address,
 * optionally followed by `/` and its peer address (`B=10.0.0.2:50051/10.0.0.2:51051`).
 */
export function parsePeers(text: string): ReplicaEndpoint[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq <= 0)
        throw new ConfigError(`peer "${item}" must look like ID=host:port or ID=host:port/peer-host:peer-port`);
      const id = checkId(item.slice(0, eq));
      const [address, peerAddress, ...rest] = item.slice(eq + 1).split('/');
      if (rest.length > 0)
        throw new ConfigError(`peer "${item}" must look like ID=host:port or ID=host:port/peer-host:peer-port`);
      return {
        id,
        address: checkAddress(address!, `address of peer ${id}`),
        ...(peerAddress !== undefined ? { peerAddress: checkAddress(peerAddress, `peer address of peer ${id}`) } : {}),
      };
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
  let members: ReplicaEndpoint[];
  let listen: string | undefined = v.listen ? checkAddress(v.listen, '--listen') : undefined;
  let peerListen: string | undefined = v.peerListen ? checkAddress(v.peerListen, '--peer-listen') : undefined;
  const peerAdvertise = v.peerAdvertise ? checkAddress(v.peerAdvertise, '--peer-advertise') : undefined;
  /** This replica as this start names it, once its client address is known. */
  const selfAs = (address: string, peerAddress = peerAdvertise): ReplicaEndpoint => ({
    id,
    address,
    ...(peerAddress ? { peerAddress } : {}),
  });
  if (file) {
    if (v.peers) throw new ConfigError('give the replicas either with --peers or in a cluster file, not both');
    members = file.replicas.map((r) => ({
      id: r.id,
      address: r.address,
      ...(r.peerAddress ? { peerAddress: r.peerAddress } : {}),
    }));
    const self = file.replicas.find((r) => r.id === id);
    if (self) {
      listen ??= self.listen ?? self.address;
      peerListen ??= self.peerListen;
      if (peerAdvertise) members = members.map((m) => (m.id === id ? selfAs(m.address) : m));
    } else if (v.join && (v.advertise || listen)) {
      // A replica being added to the cluster the file describes.
      const advertise = checkAddress(v.advertise ?? listen!, '--advertise');
      listen ??= advertise;
      members.push(selfAs(advertise));
    } else {
      throw new ConfigError(
        `replica ${id} is not in the cluster file ${v.clusterFile} (it has ${file.replicas.map((r) => r.id).join(', ')}); a new replica joins with --join and --listen`,
      );
    }
  } else {
    const peers = v.peers ? parsePeers(v.peers) : [];
    const advertise = checkAddress(v.advertise ?? listen ?? '127.0.0.1:50051', '--advertise');
    listen ??= advertise;
    if (peers.some((p) => p.id === id))
      throw new ConfigError(`--peers names this replica (${id}) itself; list only the others`);
    members = [selfAs(advertise), ...peers];
  }
  const ids = members.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new ConfigError(`replica ids must be unique: ${ids.join(', ')}`);
  if (members.length > 16) throw new ConfigError('a cluster has at most 16 replicas');
  // This replica's peer address, like its client address: as advertised, else where it listens, else the default.
  const self = members.find((m) => m.id === id)!;
  const peerAddress = self.peerAddress ?? (v.peerListen ? peerListen! : defaultPeerAddress(self.address));
  peerListen ??= peerAddress;
  members = members.map((m) => (m.id === id ? { ...m, peerAddress } : m));
  if ((v.tlsCert === undefined) !== (v.tlsKey === undefined))
    throw new ConfigError('--tls-cert and --tls-key go together');
  const tls =
    v.tlsCert && v.tlsKey
      ? { cert: v.tlsCert, key: v.tlsKey, ca: v.tlsCa, requireClientCert: v.tlsRequireClientCert ?? false }
      : undefined;
  if (v.tlsRequireClientCert && !tls?.ca)
    throw new ConfigError('--tls-require-client-cert needs --tls-ca (the CA that signs the client certificates)');
  const insecurePeers = v.insecurePeers ?? false;
  if ((members.length > 1 || v.join) && !v.clusterSecretFile && !tls?.ca && !insecurePeers) {
    throw new ConfigError(
      `replica ${id} has peers but no way to know them from strangers: give every replica the same --cluster-secret-file ` +
        '(e.g. `openssl rand -hex 32 > cluster.secret && chmod 600 cluster.secret`), or certificates naming each replica ' +
        '(--tls-cert, --tls-key and --tls-ca; see README, "Security"). --insecure-peers turns this off for throwaway experiments.',
    );
  }
  const maxSnapshotMb = positiveInt(v.maxSnapshotMb, '--max-snapshot-mb', 'MiB');
  const rateLimits: Partial<RateLimits> = {
    ...(v.loginLimitAccount ? { loginPerAccount: parseRate(v.loginLimitAccount, '--login-limit-account') } : {}),
    ...(v.loginLimitAddress ? { loginPerAddress: parseRate(v.loginLimitAddress, '--login-limit-address') } : {}),
    ...(v.sendLimitSession ? { sendPerSession: parseRate(v.sendLimitSession, '--send-limit-session') } : {}),
  };
  const electionMinMs = positiveInt(v.electionTimeoutMs, '--election-timeout-ms');
  const timings: Partial<ReplicationTimings> = {
    heartbeatMs: positiveInt(v.heartbeatMs, '--heartbeat-ms') ?? SERVER_HEARTBEAT_MS,
    ...(electionMinMs ? { electionMinMs } : {}),
    ...(v.syncTimeoutMs ? { syncTimeoutMs: positiveInt(v.syncTimeoutMs, '--sync-timeout-ms') } : {}),
  };
  const mode = v.mode ?? file?.mode ?? 'in-sync';
  if (mode !== 'in-sync' && mode !== 'majority')
    throw new ConfigError(`--mode must be in-sync or majority, not "${mode}"`);
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
    peerAddress,
    peerListen,
    clusterSecretFile: v.clusterSecretFile,
    insecurePeers,
    adminTokenFile: v.adminTokenFile,
    maxSnapshotBytes: maxSnapshotMb === undefined ? undefined : maxSnapshotMb * 1024 * 1024,
    rateLimits,
    maxConnectionsPerAddress: positiveInt(v.maxConnectionsPerAddress, '--max-connections-per-address', 'connections'),
    dataDir: v.dataDir ?? `./data/${id}`,
    logLevel: v.logLevel ?? file?.logLevel ?? 'info',
    logFile: v.logFile,
    clusterId: v.clusterId === undefined ? undefined : checkClusterId(v.clusterId, '--cluster-id'),
    // Port 0 picks a free port (tests); the metrics.listening log line says which.
    metricsListen:
      v.metricsListen === undefined
        ? undefined
        : checkAddress(v.metricsListen.replace(/:0$/, ':1'), '--metrics-listen') && v.metricsListen,
    tls,
    timings,
  };
}
