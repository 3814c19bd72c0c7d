import type * as grpc from '@grpc/grpc-js';

/**
 * Lets the server's calls finish and shuts it down; calls still open after
 * `graceMs` (streams a client keeps) are cut.
 */
export function shutdownGracefully(server: grpc.Server, graceMs = 2_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
