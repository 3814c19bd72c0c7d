/**
 * The metrics listener (--metrics-listen): plain HTTP, GET only.
 *   /metrics  the Prometheus exposition (text format 0.0.4)
 *   /healthz  200 while the process serves (liveness)
 *   /readyz   200 when this replica knows a leader and is caught up (it leads and
 *             has applied everything committed before its epoch, or it follows
 *             in the leader's in-sync set holding everything committed), and is
 *             neither left behind by a forced leader nor on a data directory the
 *             cluster does not count on; 503 with the reason otherwise
 * Nothing here changes anything; still, bind it to loopback or a management
 * network (it is unauthenticated).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { stuckReason } from '../readiness.js';
import { NOT_A_MEMBER_YET } from '../replication/core.js';
import type { ReplicaStatusView } from '../replica/handle.js';

export interface Readiness {
  ready: boolean;
  reason: string;
}

/** Whether a replica with this status is ready to serve, and why (not). */
export function readiness(s: ReplicaStatusView, readyLeader: boolean): Readiness {
  // Left behind by a forced leader, or on a data directory the cluster does not count on: not ready, whatever else holds.
  if (s.leftBehind || s.dataLost) return { ready: false, reason: stuckReason(s) };
  if (s.role === 'leader') {
    return readyLeader
      ? { ready: true, reason: `leads epoch ${s.epoch}` }
      : { ready: false, reason: `leads epoch ${s.epoch} but has not applied everything committed before it yet` };
  }
  if (s.leaderId === '') {
    // The core states its waiting reason at its ticks; a replica with no configuration has one from its start.
    const reason = s.waitingReason || (s.config.replicas.length === 0 ? NOT_A_MEMBER_YET : 'knows no leader');
    return { ready: false, reason };
  }
  if (!s.caughtUp)
    return {
      ready: false,
      reason: `follows ${s.leaderId} in epoch ${s.epoch} but is not caught up (not in its in-sync set yet)`,
    };
  return { ready: true, reason: `follows ${s.leaderId} in epoch ${s.epoch}, caught up` };
}

export interface MetricsEndpoints {
  registry: Registry;
  readiness(): Readiness;
}

export class MetricsListenError extends Error {}

/** Listens on `address` (host:port; port 0 picks one); resolves with the server and the address bound. */
export function startMetricsServer(
  address: string,
  endpoints: MetricsEndpoints,
): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET\n');
      return;
    }
    if (path === '/metrics') {
      endpoints.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': endpoints.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = endpoints.readiness();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(`${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  server.keepAliveTimeout = 10_000;
  server.requestTimeout = 10_000;
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new MetricsListenError(
          err.code === 'EADDRINUSE'
            ? `cannot listen for metrics on ${address}: the port is already in use`
            : `cannot listen for metrics on ${address}: ${err.message}`,
        ),
      );
    });
    server.listen(port, host, () => {
      const bound = server.address() as AddressInfo;
      resolve({ server, address: `${address.slice(0, colon)}:${bound.port}` });
    });
  });
}
