import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { Database } from 'better-sqlite3';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ChatServiceService } from '../gen/chat/v1/chat.js';
import { ClusterServiceService } from '../gen/chat/v1/cluster.js';
import { ReplicationServiceService } from '../gen/chat/v1/replication.js';
import type { ServerConfig } from './config.js';
import { ChatReplica } from './chat-replica.js';
import { protectDataDir, readSecretFile } from './file-modes.js';
import {
  CLIENT_CONNECTION_LIMITS,
  CLIENT_MAX_STREAMS_PER_CONNECTION,
  listen,
  ListenError,
  PEER_CONNECTION_LIMITS,
  type Listener,
} from './listeners.js';
import { ConfigError } from './replication/endpoints.js';
import { hashToken } from './rpc/auth.js';
import { createChatService } from './rpc/chat-service.js';
import { createClusterService } from './rpc/cluster-service.js';
import { GuardedServer, guardService } from './rpc/guarded-server.js';
import { shutdownGracefully } from './rpc/graceful-shutdown.js';
import { joinerCheck } from './rpc/joiner-check.js';
import { OperatorAuth } from './rpc/operator-auth.js';
import { PeerAuth } from './rpc/peer-auth.js';
import { createPeerService } from './rpc/peer-service.js';
import { PEER_MAX_MESSAGE_BYTES, PeerTransport } from './rpc/peer-transport.js';
import { DEFAULT_SNAPSHOT_LIMITS, SnapshotInbox } from './rpc/snapshot-inbox.js';
import { REPLICATION_SERVICE_NAME, stuckReason } from './readiness.js';
import { openReplicaDatabase } from './replica-database.js';
import { lockDataDir } from './storage/data-dir-lock.js';
import { MetricsListenError } from './metrics/http.js';
import { ReplicaMetrics } from './metrics/replica-metrics.js';
import { serveMetrics, type ServedMetrics } from './metrics/serve.js';
import { settleClusterId } from './cluster-identity.js';
import { handOver } from './hand-over.js';
import { PeerVersions } from './peer-versions.js';
import { PEER_PROTOCOL_VERSION, SCHEMA_VERSION } from './versions.js';
import { buildInfo } from '../version/build-info.js';
import { senderStamp } from './rpc/sender-stamp.js';

export { ListenError };

export const CHAT_SERVICE_NAME = 'chat.v1.ChatService';

/**
 * The largest request the client plane takes: a SendMessage with 16 KiB of
 * text as stored (up to 48 KiB of UTF-8 before NFC composes it), a recipient
 * and a key; everything else is smaller. Anything larger is refused with
 * RESOURCE_EXHAUSTED as soon as its length prefix arrives.
 */
export const CLIENT_MAX_REQUEST_BYTES = 64 * 1024;

/** How long a stopping leader waits for its hand-over before it stops anyway (the others then elect a leader). */
const HAND_OVER_ON_STOP_MS = 1_500;

export interface RunningServer {
  /** The client address actually bound (the port filled in when 0 was asked for). */
  boundAddress: string;
  /** The peer address actually bound; undefined for a lone replica without peer credentials. */
  boundPeerAddress: string | undefined;
  replica: ChatReplica;
  stop(): Promise<void>;
}

const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

/** Who this replica trusts: its peers (secret, certificates) and its operators (token, certificates). */
function trust(config: ServerConfig, clusterId: string, logger: Logger) {
  const tlsFiles = config.tls
    ? {
        cert: readFileSync(config.tls.cert),
        key: readFileSync(config.tls.key),
        ca: config.tls.ca ? readFileSync(config.tls.ca) : undefined,
      }
    : undefined;
  const secret = config.clusterSecretFile
    ? readSecretFile(config.clusterSecretFile, 'cluster secret file', logger)
    : undefined;
  const adminToken = config.adminTokenFile
    ? readSecretFile(config.adminTokenFile, 'admin token file', logger)
    : undefined;
  if (adminToken && /\s/.test(adminToken.toString('utf8'))) {
    throw new ConfigError(
      `the admin token file ${config.adminTokenFile} holds white space: the token travels as "authorization: Bearer <token>", one word (e.g. openssl rand -hex 32 > ${config.adminTokenFile})`,
    );
  }
  const peerTls = tlsFiles?.ca ? { ca: tlsFiles.ca, cert: tlsFiles.cert, key: tlsFiles.key } : undefined;
  const peers = new PeerAuth({
    cluster: config.cluster,
    clusterId,
    self: config.id,
    secret,
    tls: peerTls,
    insecure: config.insecurePeers,
  });
  let client = grpc.ServerCredentials.createInsecure();
  if (tlsFiles) {
    const identity = { private_key: tlsFiles.key, cert_chain: tlsFiles.cert };
    // With a CA, clients may present certificates (operators) and, with --tls-require-client-cert, must.
    client = tlsFiles.ca
      ? optionalClientCertificates(tlsFiles.ca, identity, config.tls!.requireClientCert)
      : grpc.ServerCredentials.createSsl(null, [identity], false);
  }
  return { peers, adminToken, client, operatorCertificates: tlsFiles?.ca !== undefined };
}

/**
 * Server credentials that ask for a client certificate and verify it against
 * `ca`, requiring one only when `require` (grpc-js's createSsl either demands
 * one or never asks).
 */
function optionalClientCertificates(
  ca: Buffer,
  identity: { private_key: Buffer; cert_chain: Buffer },
  require: boolean,
): grpc.ServerCredentials {
  // Called back on the next tick: grpc-js registers the server's watcher only after adding these listeners.
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: ca })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) =>
      queueMicrotask(() => listener({ certificate: identity.cert_chain, privateKey: identity.private_key })),
    removeIdentityCertificateListener: () => undefined,
  };
  // One provider serves both the CA and this replica's own certificate.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, require);
}

/** Locks and opens the data directory, starts the replica and serves the client plane and, with peer credentials, the peer plane. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const lock = lockDataDir(config.dataDir);
  let db: Database;
  let clusterId: string;
  let trusted: ReturnType<typeof trust>;
  try {
    clusterId = settleClusterId(config.dataDir, config.clusterId);
    trusted = trust(config, clusterId, logger);
    db = openReplicaDatabase(config.dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const closeStorage = () => {
    db.close();
    lock.release();
  };
  // After opening: the database's WAL and shared-memory files exist by now.
  protectDataDir(config.dataDir, logger);
  const metrics = config.metricsListen
    ? new ReplicaMetrics({
        replica: config.id,
        cluster: config.cluster,
        mode: config.mode,
        ...buildInfo(),
        protocol: PEER_PROTOCOL_VERSION,
        schema: SCHEMA_VERSION,
      })
    : undefined;
  // Peers compare the cluster's name and, for a restored cluster, its id (cluster-identity.ts): trusted.peers carries both.
  const transport = new PeerTransport(trusted.peers, config.peerAddress, logger);
  let replica: ChatReplica;
  let inbox: SnapshotInbox;
  try {
    replica = new ChatReplica({
      id: config.id,
      cluster: config.cluster,
      members: config.members,
      join: config.join,
      db,
      logger,
      transport,
      timings: config.timings,
      limits: config.limits,
      mode: config.mode,
      observeSync: metrics?.observeSync,
      observeCommit: metrics?.observeCommit,
    });
    if (!trusted.peers.canTalkToPeers && replica.members().length > 1) {
      throw new ConfigError(
        `the data directory's configuration has ${replica.members().length} replicas, but this start gives no way to authenticate them: add --cluster-secret-file (or certificates; see README, "Security")`,
      );
    }
    inbox = new SnapshotInbox(config.dataDir, {
      ...DEFAULT_SNAPSHOT_LIMITS,
      ...(config.maxSnapshotBytes ? { maxBytes: config.maxSnapshotBytes } : {}),
    });
  } catch (err) {
    transport.close();
    closeStorage();
    throw err;
  }
  if (trusted.peers.insecure) {
    logger.warn(
      { event: 'peers.insecure', replica: config.id },
      'INSECURE: --insecure-peers: anyone who reaches the peer listener can act as a replica of this cluster (rewrite its history, read every message); for throwaway experiments only',
    );
  }

  const chat = createChatService(replica, { logger, rateLimits: config.rateLimits });
  const own = senderStamp();
  const peerVersions = new PeerVersions(
    { version: own.senderVersion, commit: own.senderCommit, protocol: own.protocolVersion },
    (message, details) => replica.events.emit('peer.version', replica.status().epoch, message, details),
  );
  const client = new GuardedServer({
    'grpc.max_receive_message_length': CLIENT_MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_concurrent_streams': CLIENT_MAX_STREAMS_PER_CONNECTION,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    // Find clients whose connection died silently, so their streams and "online" marks go away.
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  client.addService(ChatServiceService, chat.service);
  client.addService(
    ClusterServiceService,
    createClusterService({
      replica,
      cluster: config.cluster,
      clusterId,
      mode: config.mode,
      dataDir: config.dataDir,
      peerVersions,
      logger,
      clientMetrics: () => chat.metrics(),
      checkJoiner: joinerCheck(trusted.peers, config.mode),
      operators: new OperatorAuth({
        cluster: config.cluster,
        adminToken: trusted.adminToken,
        certificates: trusted.operatorCertificates,
        isChatSession: (token) => replica.chat.sessionAccount(hashToken(token)) !== undefined,
      }),
    }),
  );
  const health = new HealthImplementation({
    '': 'SERVING',
    [CHAT_SERVICE_NAME]: 'NOT_SERVING',
    [REPLICATION_SERVICE_NAME]: 'SERVING',
  });
  health.addToServer(client);
  let leading = false;
  replica.onLeadershipChange((now) => {
    leading = now;
    health.setStatus(CHAT_SERVICE_NAME, now ? 'SERVING' : 'NOT_SERVING');
  });
  // Its own readiness: NOT_SERVING while stuck (left behind, lost its data, waiting for a replica, long without a leader).
  let stuck = '';
  const checkReadiness = setInterval(() => {
    const reason = stuckReason(replica.status());
    if (reason === stuck) return;
    stuck = reason;
    health.setStatus(REPLICATION_SERVICE_NAME, reason ? 'NOT_SERVING' : 'SERVING');
    if (reason)
      logger.warn(
        { event: 'replica.not_ready', replica: config.id, reason },
        `replica ${config.id} reports NOT_SERVING for ${REPLICATION_SERVICE_NAME}: ${reason}`,
      );
    else
      logger.info(
        { event: 'replica.ready', replica: config.id },
        `replica ${config.id} reports SERVING for ${REPLICATION_SERVICE_NAME} again`,
      );
  }, 250);
  checkReadiness.unref();
  // Reflection describes the client plane's services, so grpcurl can call all of them.
  const protos = loadSync(['chat/v1/chat.proto', 'chat/v1/cluster.proto', healthProtoPath], {
    includeDirs: [PROTO_DIR],
  });
  new ReflectionService(protos).addToServer(client);

  // The peer plane: replication only, each call authenticated (peer-auth.ts).
  const peer = trusted.peers.canTalkToPeers
    ? new grpc.Server({
        'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
        'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
        // A replica keeps one stream open to each peer and now and then a snapshot or Identify call.
        'grpc.max_concurrent_streams': 8,
        // A connection without a call is no replica's: its link always holds a stream open.
        'grpc.max_connection_idle_ms': 60_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      })
    : undefined;
  peer?.addService(
    guardService(ReplicationServiceService),
    createPeerService({
      auth: trusted.peers,
      deliver: (message, fromPeerAddress, snapshot) => {
        transport.heardFrom(message.from);
        replica.deliver(message, fromPeerAddress, snapshot);
      },
      heard: (env) => peerVersions.heard(env.from, env.senderVersion, env.senderCommit, env.protocolVersion),
      inbox,
      checkSnapshot: (path) => replica.chat.checkSnapshotFile(path),
      identity: () => ({
        id: config.id,
        cluster: config.cluster,
        mode: config.mode,
        members: replica.members().length,
      }),
      logger,
    }),
  );

  const listeners: Listener[] = [];
  const closeAll = () => {
    for (const l of listeners) l.close();
    client.forceShutdown();
    peer?.forceShutdown();
  };
  try {
    listeners.push(
      await listen(
        client,
        config.listen,
        trusted.client,
        {
          ...CLIENT_CONNECTION_LIMITS,
          ...(config.maxConnectionsPerAddress ? { perAddress: config.maxConnectionsPerAddress } : {}),
        },
        logger,
      ),
    );
    if (peer)
      listeners.push(
        await listen(peer, config.peerListen, trusted.peers.serverCredentials(), PEER_CONNECTION_LIMITS, logger),
      );
  } catch (err) {
    clearInterval(checkReadiness);
    closeAll();
    inbox.close();
    await replica.stop();
    closeStorage();
    throw err;
  }
  let metricsServer: ServedMetrics | undefined;
  if (metrics) {
    try {
      metricsServer = await serveMetrics(config.metricsListen!, metrics, {
        replica,
        clients: () => chat.metrics(),
        peerVersions,
        readyLeader: () => leading,
        logger,
      });
    } catch (err) {
      closeAll();
      inbox.close();
      await replica.stop();
      closeStorage();
      throw err instanceof MetricsListenError ? new ListenError(err.message) : err;
    }
  }
  replica.start();
  const boundAddress = listeners[0]!.address;
  const boundPeerAddress = listeners[1]?.address;
  logger.info(
    {
      event: 'server.listening',
      replica: config.id,
      address: boundAddress,
      peerAddress: boundPeerAddress,
      peerAuth: trusted.peers.describe(),
      members: config.members,
      dataDir: config.dataDir,
    },
    `replica ${config.id} listening on ${boundAddress} for clients${boundPeerAddress ? ` and on ${boundPeerAddress} for peers (authenticated by ${trusted.peers.describe()})` : ' (no peer listener: a lone replica without peer credentials)'}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(checkReadiness);
      // A leader hands over first (a planned restart costs a few round trips, not an election), then stops.
      if (replica.status().role === 'leader') {
        replica.leaveAfterHandOver();
        await handOver(replica, peerVersions, undefined, HAND_OVER_ON_STOP_MS).then(
          (done) =>
            logger.info(
              { event: 'server.handed_over', replica: config.id, to: done.leaderId, epoch: done.epoch },
              `handed leadership to ${done.leaderId} before stopping`,
            ),
          (err: Error) =>
            logger.warn(
              { event: 'server.hand_over_failed', replica: config.id, reason: err.message },
              `stopping without handing leadership over: ${err.message}`,
            ),
        );
      }
      health.setStatus('', 'NOT_SERVING');
      chat.close();
      await replica.stop();
      for (const l of listeners) l.close();
      await Promise.all([shutdownGracefully(client), ...(peer ? [shutdownGracefully(peer)] : [])]);
      await metricsServer?.close();
      inbox.close();
      closeStorage();
      logger.info({ event: 'server.stopped', replica: config.id }, `replica ${config.id} stopped`);
    })();
    return stopping;
  };
  return { boundAddress, boundPeerAddress, replica, stop };
}
