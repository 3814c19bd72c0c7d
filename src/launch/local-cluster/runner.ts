/**
 * The local cluster runner: replicas A, B, C… as separate chat-server processes
 * on consecutive loopback ports, each with its data in `<root>/<id>` and its log
 * in `<root>/<id>.log`, supervised in the foreground.
 *
 * One runner per data folder (a lock, `<root>/cluster.lock`, whose holder's pid
 * is in `cluster.pid`); a second one, or one whose ports are taken, refuses
 * before starting anything and touches nothing of the first. The replicas run
 * in process groups of their own, so a terminal's Ctrl-C or hang-up reaches only
 * the runner, which stops each replica with one SIGTERM (exit 0, `server.stopped`).
 * While it runs it takes commands on its control socket: status, and stopping,
 * starting or restarting one replica.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Role } from '../../gen/chat/v1/cluster.js';
import { ensureSecretFile, restrictNewFiles } from '../../server/file-modes.js';
import { defaultPeerAddress } from '../../server/replication/endpoints.js';
import {
  DATA_DIR_LOCK,
  describePid,
  DirectoryInUseError,
  lockDirectory,
  recordedHolder,
  type DirectoryLock,
} from '../../server/storage/data-dir-lock.js';
import { portInUse } from '../process-cluster/ports.js';
import { describeExit, ProcessCluster, type ReplicaExit } from '../process-cluster/process-cluster.js';
import { within } from '../process-cluster/wait.js';
import { serveControl, type ControlReply, type ControlRequest, type ControlServer } from './control.js';
import { ADMIN_TOKEN_FILE, CLUSTER_SECRET_FILE, controlSocketPath, localReplicas, RUNNER_LOCK } from './layout.js';
import { summarize } from './log-summary.js';

export interface RunnerOptions {
  /** The data folder, absolute. */
  root: string;
  basePort: number;
  replicas: number;
  /** Do not print the replicas' events (their logs still go to the files). */
  quiet: boolean;
  serverMain: string;
  /** How commands name this data folder in hints (empty for the default one). */
  dataDirHint: string;
}

/** A replica given this long to stop after its SIGTERM is killed. */
const STOP_GRACE_MS = 10_000;
/** How long a started replica has to answer. */
const START_WAIT_MS = 15_000;

const ROLE_NAMES: Partial<Record<Role, string>> = {
  [Role.ROLE_LEADER]: 'leader',
  [Role.ROLE_FOLLOWER]: 'follower',
  [Role.ROLE_CANDIDATE]: 'candidate',
  [Role.ROLE_LEARNER]: 'learner',
};

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Refuses to start: one line on stderr, exit status 2. */
function refuse(message: string): never {
  err(`local cluster: ${message}`);
  process.exit(2);
}

/** Runs the cluster until it is stopped (Ctrl-C, SIGTERM, `stop`) or every replica has exited on its own; then exits. */
export async function runLocalCluster(o: RunnerOptions): Promise<void> {
  const hint = (command: string) => `\`npm run cluster${command ? ` -- ${command}` : ''}${o.dataDirHint}\``;
  // Secrets, logs and the replicas' data: this user's only (a folder made before too).
  restrictNewFiles();
  let lock: DirectoryLock;
  try {
    lock = lockDirectory(o.root, RUNNER_LOCK, 'data folder');
  } catch (e) {
    if (e instanceof DirectoryInUseError) {
      refuse(
        `a local cluster already runs from ${o.root} (runner ${describePid(e.holderPid)}); ${hint('status')} shows it, ${hint('stop')} stops it`,
      );
    }
    refuse((e as Error).message);
  }
  chmodSync(o.root, 0o700);
  const replicas = localReplicas(o.basePort, o.replicas);
  const taken: string[] = [];
  for (const r of replicas) {
    // Each replica listens on its address and, for its peers, on chat-server's default peer address (the port 1000 up).
    for (const address of [r.address, defaultPeerAddress(r.address)]) {
      if (!(await portInUse('127.0.0.1', Number(address.split(':')[1])))) continue;
      // A replica of an earlier run whose runner was killed keeps running (in its own process group).
      const leftover = recordedHolder(join(o.root, r.id), DATA_DIR_LOCK);
      taken.push(
        `${address} (for ${r.id}${leftover === undefined ? '' : `; replica ${r.id} of an earlier run still runs as pid ${leftover}`})`,
      );
    }
  }
  if (taken.length > 0) {
    lock.release();
    refuse(
      `${taken.join(', ')} already in use: by another local cluster (with another data folder), a replica left running, or another program. Stop it, or choose other ports with --base-port`,
    );
  }

  /** Replicas stopped on request (and not started since): their exit is no news, and the runner waits for them to be started again. */
  const held = new Set<string>();
  const logsWritten = new Map<string, Promise<void>>();
  let stopping: Promise<void> | undefined;

  const pipeLog = (id: string, child: ChildProcess) => {
    const file = createWriteStream(join(o.root, `${id}.log`), { flags: 'a' });
    logsWritten.set(id, new Promise((resolve) => file.once('close', resolve)));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      file.write(`${line}\n`);
      const text = o.quiet ? undefined : summarize(id, line);
      if (text) out(text);
    });
    lines.once('close', () => file.end());
    child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`));
  };

  const exited = (id: string, exit: ReplicaExit) => {
    if (stopping || held.has(id)) return;
    const others = procs.ids.some((r) => procs.isRunning(r));
    if (others || held.size > 0) {
      err(
        `[${id}] exited (${describeExit(exit)})${others ? '; the others go on' : ''}; ${hint(`start ${id}`)} starts it again`,
      );
      return;
    }
    err(`[${id}] exited (${describeExit(exit)})`);
    err('every replica of the local cluster has exited; stopping');
    void finish(1);
  };

  // The replicas prove the secret to each other; chat-ops finds the admin token here (<root>/admin-token).
  const secretFile = join(o.root, CLUSTER_SECRET_FILE);
  const adminTokenFile = join(o.root, ADMIN_TOKEN_FILE);
  for (const file of [secretFile, adminTokenFile]) if (ensureSecretFile(file)) out(`made ${file} (0600)`);
  const procs = new ProcessCluster({
    serverMain: o.serverMain,
    root: o.root,
    replicas,
    log: 'pipe',
    detached: true,
    args: ['--cluster-secret-file', secretFile, '--admin-token-file', adminTokenFile],
    onSpawn: pipeLog,
    onExit: exited,
  });

  let control: ControlServer | undefined;
  let finishing = false;
  const finish = async (code: number) => {
    if (finishing) return;
    finishing = true;
    await within("the replicas' logs to be written", 5_000, Promise.all(logsWritten.values())).catch(() => undefined);
    await control?.close();
    procs.close();
    lock.release();
    process.exit(code);
  };

  const stopAll = () => {
    stopping ??= (async () => {
      out('stopping the local cluster...');
      await procs.stopAll({ graceMs: STOP_GRACE_MS });
    })();
    return stopping;
  };

  const start = async (id: string): Promise<ControlReply> => {
    held.delete(id);
    procs.start(id);
    try {
      await procs.waitForAnswer(id, START_WAIT_MS);
    } catch (e) {
      return { done: true, ok: false, message: (e as Error).message };
    }
    return { done: true, ok: true, message: `${id} runs (pid ${procs.pid(id)}) and answers on ${procs.addressOf(id)}` };
  };

  const stop = async (id: string): Promise<string> => {
    held.add(id);
    const exit = await procs.stop(id, { graceMs: STOP_GRACE_MS });
    return exit ? describeExit(exit) : 'not running';
  };

  const statusLine = async (id: string): Promise<string> => {
    const head = `${id}  ${procs.addressOf(id)}  `;
    const pid = procs.pid(id);
    if (pid === undefined) {
      const exit = procs.lastExit(id);
      return `${head}stopped${held.has(id) ? ' on request' : ''}${exit ? ` (${describeExit(exit)})` : ''}`;
    }
    const role = await procs.status(id).then(
      (s) => `${ROLE_NAMES[s.role] ?? 'unknown role'}, epoch ${s.epoch}`,
      () => 'not answering',
    );
    return `${head}running, pid ${pid}, ${role}`;
  };

  // One command at a time: a restart is not interleaved with a stop of the same replica.
  let queue = Promise.resolve();
  const handle = (request: ControlRequest, reply: (r: ControlReply) => void): Promise<void> => {
    const run = async () => {
      if (request.command === 'status') {
        const lines = await Promise.all(procs.ids.map(statusLine));
        return reply({
          done: true,
          ok: true,
          message: [`local cluster in ${o.root} (runner pid ${process.pid})`, ...lines].join('\n'),
        });
      }
      const id = request.replica;
      if (id === undefined) {
        reply({ message: `stopping the local cluster in ${o.root} (runner pid ${process.pid})...` });
        await stopAll();
        reply({ done: true, ok: true, message: 'stopped the local cluster' });
        return finish(0);
      }
      if (!procs.ids.includes(id))
        return reply({
          done: true,
          ok: false,
          message: `no replica ${id} in this local cluster (${procs.ids.join(', ')})`,
        });
      if (stopping) return reply({ done: true, ok: false, message: 'the local cluster is stopping' });
      const running = procs.isRunning(id);
      if (request.command === 'stop') {
        if (!running) return reply({ done: true, ok: false, message: `${id} is not running` });
        const how = await stop(id);
        out(`[${id}] stopped on request (${how})`);
        return reply({
          done: true,
          ok: true,
          message: `stopped ${id} (${how}); ${hint(`start ${id}`)} starts it again`,
        });
      }
      if (request.command === 'start' && running)
        return reply({ done: true, ok: false, message: `${id} is already running (pid ${procs.pid(id)})` });
      if (running) {
        reply({ message: `stopping ${id} (pid ${procs.pid(id)})...` });
        out(`[${id}] restarting on request (stopped: ${await stop(id)})`);
      }
      const started = await start(id);
      out(`[${id}] ${started.ok ? `started on request (pid ${procs.pid(id)})` : `did not start: ${started.message}`}`);
      reply(started);
    };
    const done = queue.then(run);
    queue = done.catch(() => undefined);
    return done;
  };

  control = await serveControl(controlSocketPath(o.root), handle);
  // Output to a terminal that went away must not stop the runner from stopping its replicas.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stopAll().then(() => finish(0)));
  }
  procs.startAll();
  out(
    `local cluster: ${replicas.map((r) => `${r.id}=${r.address}`).join(' ')} (peers on the ports 1000 up); data, logs, the cluster secret and the admin token in ${o.root}`,
  );
  out(
    `Ctrl-C stops it. Meanwhile, from another terminal: npm run cluster -- status | stop | stop A | start A | restart A${o.dataDirHint ? ` (each with${o.dataDirHint})` : ''}`,
  );
}
