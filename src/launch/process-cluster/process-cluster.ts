/**
 * A cluster of chat-server processes: the one launcher behind the local cluster
 * runner (`npm run cluster`), the tests, the benchmarks and the multi-host
 * tests. It spawns each replica with its peers, data directory and log, and
 * starts, stops (one signal, SIGKILL only after a grace period), kills, pauses
 * and resumes them; it waits, always with a bound, for a replica to answer and
 * for a serving leader. Processes still running when this process exits are
 * killed.
 */
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterServiceClient, Role, type ReplicaStatus } from '../../gen/chat/v1/cluster.js';
import { sleep, waitUntil } from './wait.js';

export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessClusterOptions {
  /** The chat-server program to run (dist/server/main.js). */
  serverMain: string;
  /** Holds each replica's log `<id>.log` and, unless `dataDirs` names another, its data directory `<id>`. */
  root: string;
  /**
   * The founding replicas in order, with the address each listens on for clients
   * and, if given, the one it listens on for its peers (default: the client port
   * 1000 up, chat-server's own default).
   */
  replicas: readonly { id: string; address: string; peerAddress?: string }[];
  /** A data directory of its own for some replicas, by id. */
  dataDirs?: Readonly<Record<string, string>>;
  /** 'file' (default): the replica writes its log to `<root>/<id>.log`; 'pipe': on its stdout, for onSpawn to read. */
  log?: 'file' | 'pipe';
  logLevel?: string;
  /** chat-server options every replica gets. */
  args?: readonly string[];
  /** Options for node itself, asked for at each start (e.g. --cpu-prof). */
  nodeArgs?: (id: string) => string[];
  /** Wraps a replica's command line, e.g. to run it in a network namespace. */
  command?: (id: string, argv: string[]) => string[];
  /**
   * Each replica in a process group of its own, so a terminal's Ctrl-C or hang-up
   * reaches only this process, which then stops each replica with one signal.
   */
  detached?: boolean;
  /** What the status calls use (for replicas started with TLS); default insecure. */
  credentials?: grpc.ChannelCredentials;
  /** Called with each process spawned (its stdout is a stream when `log` is 'pipe'). */
  onSpawn?: (id: string, child: ChildProcess) => void;
  /** Called when a replica's process has exited, with the end of what it wrote to stderr. */
  onExit?: (id: string, exit: ReplicaExit, stderr: string) => void;
}

interface Member {
  id: string;
  address: string;
  peerAddress?: string;
  /** Started with --join and no peers: the configuration it is sent names them. */
  join: boolean;
}

const STDERR_KEPT = 4_000;

/** Every replica process of this process, killed if it exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of live) {
        p.kill('SIGCONT');
        p.kill('SIGKILL');
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export function describeExit(exit: ReplicaExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit status ${exit.code}`;
}

export class ProcessCluster {
  /** Replica ids in order; replicas added later come last. */
  readonly ids: string[] = [];
  /** Their addresses, in the same order. */
  readonly addresses: string[] = [];
  private readonly members = new Map<string, Member>();
  private readonly procs = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<ReplicaExit>>();
  private readonly lastExits = new Map<string, ReplicaExit>();
  private readonly stderrTails = new Map<string, string>();
  private readonly startedAt = new Map<string, number>();
  private readonly paused = new Set<string>();
  private readonly clients = new Map<string, ClusterServiceClient>();

  constructor(private readonly options: ProcessClusterOptions) {
    for (const r of options.replicas) this.addMember(r.id, r.address, r.peerAddress, false);
  }

  /** A replica that is not a founder: started with --join, it waits until an operator adds it. */
  addJoining(id: string, address: string, peerAddress?: string): void {
    if (this.members.has(id)) throw new Error(`replica ${id} already exists`);
    this.addMember(id, address, peerAddress, true);
  }

  addressOf(id: string): string {
    return this.member(id).address;
  }

  /** The replica's peer listener, when this cluster chose it (else chat-server's default). */
  peerAddressOf(id: string): string | undefined {
    return this.member(id).peerAddress;
  }

  idOf(address: string): string {
    const i = this.addresses.indexOf(address);
    if (i < 0) throw new Error(`no replica at ${address}`);
    return this.ids[i]!;
  }

  dataDir(id: string): string {
    return this.options.dataDirs?.[id] ?? join(this.options.root, id);
  }

  logFile(id: string): string {
    return join(this.options.root, `${id}.log`);
  }

  isRunning(id: string): boolean {
    const p = this.procs.get(id);
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  pid(id: string): number | undefined {
    return this.isRunning(id) ? this.procs.get(id)?.pid : undefined;
  }

  /** When the replica's current process was spawned (ms, wall clock; 0 if never). */
  spawnTime(id: string): number {
    return this.startedAt.get(id) ?? 0;
  }

  /** How the replica's last process ended (undefined while it runs or before it ever ran). */
  lastExit(id: string): ReplicaExit | undefined {
    return this.isRunning(id) ? undefined : this.lastExits.get(id);
  }

  /** The end of what the replica's last process wrote to stderr. */
  stderrTail(id: string): string {
    return this.stderrTails.get(id) ?? '';
  }

  /** Spawns the replica (it must not be running), with `extra` options after the common ones. */
  start(id: string, extra: readonly string[] = []): void {
    const member = this.member(id);
    if (this.isRunning(id)) throw new Error(`replica ${id} is already running (pid ${this.pid(id)})`);
    const o = this.options;
    const peers = member.join
      ? ''
      : [...this.members.values()]
          .filter((m) => !m.join && m.id !== id)
          .map((m) => `${m.id}=${m.address}${m.peerAddress ? `/${m.peerAddress}` : ''}`)
          .join(',');
    const argv = [
      process.execPath,
      ...(o.nodeArgs?.(id) ?? []),
      o.serverMain,
      '--id',
      id,
      '--listen',
      member.address,
      ...(member.peerAddress ? ['--peer-listen', member.peerAddress] : []),
      '--data-dir',
      this.dataDir(id),
      ...(o.log === 'pipe' ? [] : ['--log-file', this.logFile(id)]),
      ...(o.logLevel ? ['--log-level', o.logLevel] : []),
      ...(peers ? ['--peers', peers] : []),
      ...(member.join ? ['--join'] : []),
      ...(o.args ?? []),
      ...extra,
    ];
    const [cmd, ...args] = o.command ? o.command(id, argv) : argv;
    const child = spawn(cmd!, args, {
      stdio: ['ignore', o.log === 'pipe' ? 'pipe' : 'ignore', 'pipe'],
      detached: o.detached ?? false,
    });
    track(child);
    this.procs.set(id, child);
    this.startedAt.set(id, Date.now());
    this.paused.delete(id);
    this.stderrTails.set(id, '');
    child.stderr!.on('data', (d: Buffer) =>
      this.stderrTails.set(id, (this.stderrTail(id) + d.toString()).slice(-STDERR_KEPT)),
    );
    this.exits.set(
      id,
      new Promise<ReplicaExit>((resolve) => {
        let done = false;
        const ended = (exit: ReplicaExit) => {
          if (done) return;
          done = true;
          this.lastExits.set(id, exit);
          resolve(exit);
          o.onExit?.(id, exit, this.stderrTail(id));
        };
        child.once('exit', (code, signal) => ended({ code, signal }));
        // A command that could not be run at all (no 'exit' follows then).
        child.once('error', (err) => {
          this.stderrTails.set(id, `${this.stderrTail(id)}${err.message}\n`);
          if (child.pid === undefined) ended({ code: null, signal: null });
        });
      }),
    );
    o.onSpawn?.(id, child);
  }

  /** Starts every founding replica. */
  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  /** Sends `signal` (default SIGKILL) once and resolves when the process has exited; nothing when it is not running. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(id);
    if (!p || !this.isRunning(id)) return;
    const exited = this.exits.get(id)!;
    p.kill(signal);
    await exited;
  }

  /**
   * Stops the replica with one `signal` (default SIGTERM: it ends its streams,
   * closes its database and exits 0); SIGKILL follows only if it has not exited
   * after `graceMs`. A replica this cluster paused is resumed first.
   */
  async stop(
    id: string,
    options: { signal?: NodeJS.Signals; graceMs?: number } = {},
  ): Promise<ReplicaExit | undefined> {
    const p = this.procs.get(id);
    if (!p || !this.isRunning(id)) return this.lastExits.get(id);
    const exited = this.exits.get(id)!;
    if (this.paused.has(id)) this.resume(id);
    p.kill(options.signal ?? 'SIGTERM');
    const force = setTimeout(() => p.kill('SIGKILL'), options.graceMs ?? 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(force);
    }
  }

  /** Sends a signal without waiting for anything. */
  signal(id: string, signal: NodeJS.Signals): void {
    this.procs.get(id)?.kill(signal);
  }

  /** Freezes the process (SIGSTOP), as a replica that stalls without dying. */
  pause(id: string): void {
    if (!this.isRunning(id)) throw new Error(`replica ${id} is not running`);
    this.paused.add(id);
    this.signal(id, 'SIGSTOP');
  }

  resume(id: string): void {
    this.paused.delete(id);
    this.signal(id, 'SIGCONT');
  }

  async killAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
  }

  /** Stops every running replica, each with one signal (see stop). */
  async stopAll(options: { graceMs?: number } = {}): Promise<void> {
    await Promise.all(this.ids.map((id) => this.stop(id, options)));
  }

  /** The replica's own status (GetStatus, 1 s deadline). */
  status(id: string): Promise<ReplicaStatus> {
    return new Promise<ReplicaStatus>((resolve, reject) => {
      this.client(id).getStatus({}, new grpc.Metadata(), { deadline: Date.now() + 1000 }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  /** Resolves once the replica answers a status call; fails at once if its process exits, or after `timeoutMs`. */
  async waitForAnswer(id: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (!this.isRunning(id)) {
        const exit = this.lastExits.get(id);
        const said = this.stderrTail(id).trim();
        throw new Error(
          `replica ${id} ${exit ? `exited (${describeExit(exit)})` : 'is not running'} before it answered${said ? `: ${said}` : ''}`,
        );
      }
      try {
        await this.status(id);
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for replica ${id} to answer (last error: ${(lastError as Error).message})`,
        );
      await sleep(50);
    }
  }

  /** The id of a running replica that leads, has applied all it committed and serves, waiting up to `timeoutMs` for one. */
  waitForLeader(timeoutMs = 20_000): Promise<string> {
    return waitUntil('a leader', timeoutMs, async () => {
      const answers = await Promise.all(
        this.ids.filter((id) => this.isRunning(id)).map((id) => this.status(id).catch(() => undefined)),
      );
      return answers.find((s) => s?.role === Role.ROLE_LEADER && s.appliedIndex >= s.commitIndex && s.commitIndex > 0)
        ?.id;
    });
  }

  /** Every JSON record of the replica's log file (none when there is no file yet; a line cut short by a kill is skipped). */
  logRecords(id: string): Record<string, unknown>[] {
    const records: Record<string, unknown>[] = [];
    for (const line of this.readLog(id)?.split('\n') ?? []) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // cut short
      }
    }
    return records;
  }

  /** The last `lines` lines of the replica's log, for failure messages. */
  logTail(id: string, lines: number): string {
    return this.readLog(id)?.trimEnd().split('\n').slice(-lines).join('\n') ?? '(no log)';
  }

  /** Closes the status calls' channels (the processes are the caller's to stop or kill). */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private addMember(id: string, address: string, peerAddress: string | undefined, join: boolean): void {
    this.members.set(id, { id, address, ...(peerAddress ? { peerAddress } : {}), join });
    this.ids.push(id);
    this.addresses.push(address);
  }

  private member(id: string): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no replica ${id} in this cluster`);
    return m;
  }

  private client(id: string): ClusterServiceClient {
    let c = this.clients.get(id);
    if (!c) {
      c = new ClusterServiceClient(this.addressOf(id), this.options.credentials ?? grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 200,
      });
      this.clients.set(id, c);
    }
    return c;
  }

  private readLog(id: string): string | undefined {
    try {
      return readFileSync(this.logFile(id), 'utf8');
    } catch {
      return undefined;
    }
  }
}
