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
import { createChatService } from './rpc/chat-service.js';
import { createClusterService } from './rpc/cluster-service.js';
import { shutdownGracefully } from './rpc/graceful-shutdown.js';
import { joinerCheck } from './rpc/joiner-check.js';
import { CHANNEL_OPTIONS, createReplicationService, PeerTransport } from './rpc/peer-transport.js';
import { openReplicaDatabase } from './replica-database.js';
import { lockDataDir } from './storage/data-dir-lock.js';
import { MetricsListenError } from './metrics/http.js';
import { ReplicaMetrics } from './metrics/replica-metrics.js';
import { serveMetrics, type ServedMetrics } from './metrics/serve.js';
import { settleClusterId, wireCluster } from './cluster-identity.js';
import { handOver } from './hand-over.js';
import { PeerVersions } from './peer-versions.js';
import { PEER_PROTOCOL_VERSION, SCHEMA_VERSION } from './versions.js';
import { buildInfo } from '../version/build-info.js';
import { senderStamp } from './rpc/sender-stamp.js';

export const CHAT_SERVICE_NAME = 'chat.v1.ChatService';

export class ListenError extends Error {}

/** How long a stopping leader waits for its hand-over before it stops anyway (the others then elect a leader). */
const HAND_OVER_ON_STOP_MS = 1_500;

export interface RunningServer {
  /** The address actually bound (the port filled in when 0 was asked for). */
  boundAddress: string;
  replica: ChatReplica;
  stop(): Promise<void>;
}

const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

function credentials(config: ServerConfig): { server: grpc.ServerCredentials; peer: grpc.ChannelCredentials } {
  if (!config.tls) return { server: grpc.ServerCredentials.createInsecure(), peer: grpc.credentials.createInsecure() };
  const cert = readFileSync(config.tls.cert);
  const key = readFileSync(config.tls.key);
  const ca = config.tls.ca ? readFileSync(config.tls.ca) : null;
  return {
    server: grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], config.tls.requireClientCert),
    // Replicas present their own certificate to each other, so mutual TLS works between them too.
    peer: grpc.credentials.createSsl(ca, key, cert),
  };
}

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => {
      if (err) {
        const inUse = /EADDRINUSE|address already in use/i.test(err.message);
        reject(new ListenError(inUse ? `cannot listen on ${address}: the port is already in use` : `cannot listen on ${address}: ${err.message}`));
      } else resolve(port);
    });
  });
}

/** Locks and opens the data directory, starts the replica and serves the chat, cluster, replication, health and reflection services. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const lock = lockDataDir(config.dataDir);
  let db: Database;
  let clusterId: string;
  try {
    clusterId = settleClusterId(config.dataDir, config.clusterId);
    db = openReplicaDatabase(config.dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const closeStorage = () => {
    db.close();
    lock.release();
  };
  const creds = credentials(config);
  const self = config.members.find((m) => m.id === config.id)!;
  const metrics = config.metricsListen ? new ReplicaMetrics({
    replica: config.id, cluster: config.cluster, mode: config.mode, ...buildInfo(), protocol: PEER_PROTOCOL_VERSION, schema: SCHEMA_VERSION,
  }) : undefined;
  // Peers compare the cluster's name and, for a restored cluster, its id (cluster-identity.ts).
  const cluster = wireCluster(config.cluster, clusterId);
  const transport = new PeerTransport(config.id, cluster, self.address, creds.peer, logger);
  let replica: ChatReplica;
  try {
    replica = new ChatReplica({
      id: config.id, cluster: config.cluster, members: config.members, join: config.join, db, logger, transport,
      timings: config.timings, limits: config.limits, mode: config.mode, stats: metrics?.stats,
    });
  } catch (err) {
    transport.close();
    closeStorage();
    throw err;
  }
  const chat = createChatService(replica, { logger });
  const own = senderStamp();
  const peerVersions = new PeerVersions({ version: own.senderVersion, commit: own.senderCommit, protocol: own.protocolVersion },
    (message, details) => replica.events.emit('peer.version', replica.status().epoch, message, details));
  const server = new grpc.Server({
    'grpc.max_receive_message_length': CHANNEL_OPTIONS['grpc.max_receive_message_length'],
    'grpc.max_send_message_length': CHANNEL_OPTIONS['grpc.max_send_message_length'],
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    // Find clients whose connection died silently, so their streams and "online" marks go away.
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  server.addService(ChatServiceService, chat.service);
  server.addService(ClusterServiceService, createClusterService({
    replica, cluster: config.cluster, clusterId, mode: config.mode, dataDir: config.dataDir, peerVersions, logger, clientMetrics: () => chat.metrics(),
    checkJoiner: joinerCheck(config.cluster, clusterId, config.mode, creds.peer),
  }));
  server.addService(ReplicationServiceService, createReplicationService({
    self: config.id,
    cluster,
    deliver: (message, fromAddress, snapshot) => replica.deliver(message, fromAddress, snapshot),
    heard: (env) => peerVersions.heard(env.from, env.senderVersion, env.senderCommit, env.protocolVersion),
    logger,
  }));
  const health = new HealthImplementation({ '': 'SERVING', [CHAT_SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  let leading = false;
  replica.onLeadershipChange((now) => {
    leading = now;
    health.setStatus(CHAT_SERVICE_NAME, now ? 'SERVING' : 'NOT_SERVING');
  });
  // Reflection describes our services and the health service, so grpcurl can call all of them.
  const protos = loadSync(['chat/v1/chat.proto', 'chat/v1/cluster.proto', 'chat/v1/replication.proto', healthProtoPath], { includeDirs: [PROTO_DIR] });
  new ReflectionService(protos).addToServer(server);

  let port: number;
  try {
    port = await bind(server, config.listen, creds.server);
  } catch (err) {
    await replica.stop();
    closeStorage();
    throw err;
  }
  let metricsServer: ServedMetrics | undefined;
  if (metrics) {
    try {
      metricsServer = await serveMetrics(config.metricsListen!, metrics, {
        replica, clients: () => chat.metrics(), peerVersions, readyLeader: () => leading, logger,
      });
    } catch (err) {
      await replica.stop();
      await shutdownGracefully(server, 0);
      closeStorage();
      throw err instanceof MetricsListenError ? new ListenError(err.message) : err;
    }
  }
  replica.start();
  const host = config.listen.slice(0, config.listen.lastIndexOf(':'));
  const boundAddress = `${host}:${port}`;
  logger.info({ event: 'server.listening', replica: config.id, address: boundAddress, members: config.members, dataDir: config.dataDir }, `replica ${config.id} listening on ${boundAddress}`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // A leader hands over first (a planned restart costs a few round trips, not an election), then stops.
      if (replica.status().role === 'leader') {
        await handOver(replica, peerVersions, undefined, HAND_OVER_ON_STOP_MS).then(
          (done) => logger.info({ event: 'server.handed_over', replica: config.id, to: done.leaderId, epoch: done.epoch }, `handed leadership to ${done.leaderId} before stopping`),
          (err: Error) => logger.warn({ event: 'server.hand_over_failed', replica: config.id, reason: err.message }, `stopping without handing leadership over: ${err.message}`),
        );
      }
      health.setStatus('', 'NOT_SERVING');
      chat.close();
      await replica.stop();
      await shutdownGracefully(server);
      await metricsServer?.close();
      closeStorage();
      logger.info({ event: 'server.stopped', replica: config.id }, `replica ${config.id} stopped`);
    })();
    return stopping;
  };
  return { boundAddress, replica, stop };
}
