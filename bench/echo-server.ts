/** The echo server process of the transport ceiling: prints `port <n>` once it listens, stops on SIGTERM. */
import { startEchoServer } from './lib/echo.js';

const { port, server } = await startEchoServer(process.argv[2] ?? '127.0.0.1:0');
process.stdout.write(`port ${port}\n`);
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
