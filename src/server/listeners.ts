/**
 * The replica's listening sockets, ours rather than grpc-js's: each accepted
 * connection is counted by the caller's address and handed to the gRPC server
 * (a connection injector) only while that address and the listener as a whole
 * are under their limits; beyond, it is closed at once, before TLS or HTTP/2
 * cost anything. A flood of connections from one place then cannot starve the
 * replica's event loop of the time its elections need.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';

export class ListenError extends Error {}

export interface ConnectionLimits {
  /** Connections at once from one address. */
  perAddress: number;
  /** Connections at once in all. */
  total: number;
}

export const CLIENT_CONNECTION_LIMITS: ConnectionLimits = { perAddress: 200, total: 10_000 };
/** Calls and streams at once on one client connection (a process with more opens more connections: ClientOptions.ownConnection). */
export const CLIENT_MAX_STREAMS_PER_CONNECTION = 100;
/** Replicas open one connection per peer (and one more now and then to identify or send a snapshot). */
export const PEER_CONNECTION_LIMITS: ConnectionLimits = { perAddress: 16, total: 256 };

export interface Listener {
  /** host:port bound (the port filled in when 0 was asked for). */
  address: string;
  /** Connections refused at the limits since the start. */
  refused(): number;
  /** Stops accepting; open connections are the gRPC server's to end (tryShutdown, forceShutdown). */
  close(): void;
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}

/** Refusals are logged at most this often, as one line with their count. */
const REFUSED_LOG_EVERY_MS = 10_000;

/** Listens on `address` for `server`, with these credentials and limits; refused connections are logged in aggregate. */
export async function listen(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
  limits: ConnectionLimits,
  logger: Logger,
): Promise<Listener> {
  const injector = server.createConnectionInjector(credentials);
  const byAddress = new Map<string, number>();
  let open = 0;
  let refused = 0;
  let unlogged = 0;
  let logTimer: NodeJS.Timeout | undefined;
  const noteRefusal = (from: string) => {
    refused++;
    unlogged++;
    if (logTimer) return;
    logTimer = setTimeout(() => {
      logTimer = undefined;
      logger.warn(
        { event: 'connections.refused', listener: address, refused: unlogged, total: refused, limits, lastFrom: from },
        `closed ${unlogged} connection(s) to ${address} at the limits (${limits.perAddress} per address, ${limits.total} in all)`,
      );
      unlogged = 0;
    }, REFUSED_LOG_EVERY_MS);
    logTimer.unref();
  };
  const accept = (socket: Socket) => {
    const from = socket.remoteAddress ?? '';
    const mine = byAddress.get(from) ?? 0;
    if (mine >= limits.perAddress || open >= limits.total) {
      noteRefusal(from);
      socket.destroy();
      return;
    }
    byAddress.set(from, mine + 1);
    open++;
    socket.once('close', () => {
      open--;
      const left = (byAddress.get(from) ?? 1) - 1;
      if (left > 0) byAddress.set(from, left);
      else byAddress.delete(from);
    });
    socket.setNoDelay(true);
    injector.injectConnection(socket);
  };
  const tcp: NetServer = createServer({ pauseOnConnect: false }, accept);
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (err: NodeJS.ErrnoException) => {
      const inUse = err.code === 'EADDRINUSE';
      reject(
        new ListenError(
          inUse
            ? `cannot listen on ${address}: the port is already in use`
            : `cannot listen on ${address}: ${err.message}`,
        ),
      );
    });
    tcp.listen({ host, port, backlog: 1024 }, () => resolve());
  });
  const bound = tcp.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  const boundHost = address.slice(0, address.lastIndexOf(':'));
  return {
    address: `${boundHost}:${boundPort}`,
    refused: () => refused,
    close: () => {
      tcp.close();
    },
  };
}
