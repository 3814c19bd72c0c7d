/**
 * How `npm run cluster -- status | stop [ID] | start ID | restart ID` talks to
 * the running runner: one JSON request line over a Unix socket in the data
 * folder (readable and writable by its owner only), answered by JSON lines, the
 * last of them marked done.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export type ControlRequest =
  { command: 'status' } | { command: 'stop'; replica?: string } | { command: 'start' | 'restart'; replica: string };

export interface ControlReply {
  message: string;
  /** The last reply to a request; ok says whether it did what was asked. */
  done?: boolean;
  ok?: boolean;
}

/** Longer request lines are not requests: the connection is closed. */
const MAX_REQUEST = 1_024;

/** A request line, checked; undefined for anything else. */
export function parseRequest(line: string): ControlRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { command, replica } = value as { command?: unknown; replica?: unknown };
  if (replica !== undefined && (typeof replica !== 'string' || replica.length === 0 || replica.length > 64))
    return undefined;
  if (command === 'status') return { command };
  if (command === 'stop') return replica === undefined ? { command } : { command, replica };
  if ((command === 'start' || command === 'restart') && replica !== undefined) return { command, replica };
  return undefined;
}

export type ControlHandler = (request: ControlRequest, reply: (r: ControlReply) => void) => Promise<void>;

export interface ControlServer {
  /** Stops taking requests, ends open connections (after what was written to them) and removes the socket. */
  close(): Promise<void>;
}

/** Serves `handle` on the socket at `path`; the caller makes sure no other runner uses it (it holds the runner lock). */
export async function serveControl(path: string, handle: ControlHandler): Promise<ControlServer> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const lines = createInterface({ input: socket });
    lines.on('error', () => undefined);
    let handled = false;
    const send = (r: ControlReply) => {
      if (socket.writable) socket.write(`${JSON.stringify(r)}\n`);
      if (r.done) socket.end();
    };
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (!handled && received > MAX_REQUEST) socket.destroy();
    });
    lines.once('line', (line) => {
      handled = true;
      const request = parseRequest(line);
      if (!request) return send({ done: true, ok: false, message: `not a request: ${line.slice(0, 100)}` });
      handle(request, send).catch((err: Error) => send({ done: true, ok: false, message: err.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.end();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 1_000);
      await closed;
      clearTimeout(timer);
      rmSync(path, { force: true });
    },
  };
}

/** No runner listens at the socket. */
export class NoRunnerError extends Error {}

/**
 * Sends `request` to the runner at `path`, passing each reply to `onReply`;
 * resolves with the last one. Rejects with NoRunnerError when no runner
 * listens, and after `timeoutMs` without the last reply.
 */
export function sendControl(
  path: string,
  request: ControlRequest,
  onReply: (r: ControlReply) => void,
  timeoutMs = 60_000,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.setTimeout(timeoutMs, () => {
      reject(new Error(`the local cluster runner said nothing for ${timeoutMs / 1000} s`));
      socket.destroy();
    });
    let last: ControlReply | undefined;
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    const lines = createInterface({ input: socket });
    // The socket's own 'error' handler below deals with it; readline passes it on too.
    lines.on('error', () => undefined);
    lines.on('line', (line) => {
      try {
        last = JSON.parse(line) as ControlReply;
      } catch {
        return;
      }
      onReply(last);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) reject(new NoRunnerError(err.message));
      else reject(err);
    });
    socket.once('close', () => {
      if (last?.done) resolve(last);
      else if (connected) reject(new Error('the local cluster runner closed the connection without an answer'));
    });
  });
}
