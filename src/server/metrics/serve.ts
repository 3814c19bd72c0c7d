/** Wiring of a running replica's metrics listener: the sources the metrics read, readiness, and the listener's life. */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { ChatReplica } from '../chat-replica.js';
import type { PeerVersions } from '../peer-versions.js';
import { readiness, startMetricsServer } from './http.js';
import type { ReplicaMetrics } from './replica-metrics.js';

export interface ServedMetrics {
  address: string;
  close(): Promise<void>;
}

export async function serveMetrics(
  listen: string,
  metrics: ReplicaMetrics,
  o: {
    replica: ChatReplica;
    clients(): { connectedClients: number; openStreams: number };
    peerVersions: PeerVersions;
    /** Whether this replica is a leader that has applied everything committed before its epoch. */
    readyLeader(): boolean;
    logger: Logger;
  },
): Promise<ServedMetrics> {
  const { replica } = o;
  metrics.attach({
    status: () => replica.status(),
    driverStats: () => replica.stats(),
    clients: o.clients,
    peerBuilds: () => o.peerVersions.all(),
    subscribeEvents: (listener) => replica.events.subscribe(listener),
    onApplied: (listener) => replica.onApplied(listener),
  });
  let server: Server;
  let address: string;
  try {
    ({ server, address } = await startMetricsServer(listen, {
      registry: metrics.registry,
      readiness: () => readiness(replica.status(), o.readyLeader()),
    }));
  } catch (err) {
    metrics.detach();
    throw err;
  }
  o.logger.info(
    { event: 'metrics.listening', replica: replica.id, address },
    `metrics, /healthz and /readyz on http://${address}`,
  );
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.detach();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
