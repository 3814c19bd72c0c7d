/**
 * A real chat-server (startServer, as main.ts runs it) inside the test
 * process, on free loopback ports with a temp data directory: quicker than a
 * process for tests of one replica's front door (limits, credentials, files).
 * Its log records are kept for the test to read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveConfig, type ServerOptionValues } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { freePort, waitUntil } from './cluster.js';

export interface LogRecord {
  level: number;
  event?: string;
  msg: string;
  [key: string]: unknown;
}

export interface TestServer {
  address: string;
  peerAddress: string | undefined;
  dataDir: string;
  running: RunningServer;
  logs: LogRecord[];
  stop(): Promise<void>;
}

/** Starts replica A with these options (a free --listen and --peer-listen, a temp --data-dir unless given). */
export async function startTestServer(values: ServerOptionValues = {}): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'chat-server-'));
  const logs: LogRecord[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as LogRecord);
      done();
    },
  });
  const config = resolveConfig({
    id: 'A',
    listen: `127.0.0.1:${await freePort()}`,
    peerListen: `127.0.0.1:${await freePort()}`,
    dataDir: join(root, 'A'),
    ...values,
  });
  const running = await startServer(config, pino({ level: 'info' }, sink));
  if (config.members.length === 1 && !config.join) {
    await waitUntil('the replica to lead', 10_000, () =>
      running.replica.ensureLeaderReady().then(
        () => true,
        () => undefined,
      ),
    );
  }
  return {
    address: running.boundAddress,
    peerAddress: running.boundPeerAddress,
    dataDir: config.dataDir,
    running,
    logs,
    stop: async () => {
      await running.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
