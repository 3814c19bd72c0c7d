#!/usr/bin/env node
/**
 * A local three-replica cluster for trying the system out: separate
 * chat-server processes on loopback ports with their own data directories.
 * `start` runs in the foreground (Ctrl-C stops it cleanly); `stop` ends one
 * started in the background by `npm start`.
 */
import { Command, Option } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureSecretFile, restrictNewFiles } from './file-modes.js';

export const DEFAULT_IDS = ['A', 'B', 'C'];
export const DEFAULT_BASE_PORT = 50051;
export const DEFAULT_DATA_ROOT = '.data';
/** The local cluster's secret and admin token, made (0600) in its data folder on its first start. */
export const CLUSTER_SECRET_FILE = 'cluster.secret';
export const ADMIN_TOKEN_FILE = 'admin-token';
const SERVER_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export function localAddresses(basePort = DEFAULT_BASE_PORT, count = DEFAULT_IDS.length): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.1:${basePort + i}`);
}

interface LogLine {
  level?: number;
  time?: number;
  event?: string;
  msg?: string;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One readable line per interesting log record; the full JSON goes to the replica's log file. */
function summarize(id: string, line: string): string | undefined {
  let rec: LogLine;
  try {
    rec = JSON.parse(line) as LogLine;
  } catch {
    return `[${id}] ${line}`;
  }
  if ((rec.level ?? 30) < 30 || rec.event === 'replication.batch') return undefined;
  const time = new Date(rec.time ?? Date.now()).toISOString().slice(11, 23);
  const level = LEVEL_NAMES[rec.level ?? 30] ?? String(rec.level);
  return `${time} [${id}] ${level.padEnd(5)} ${rec.event ? `${rec.event}: ` : ''}${rec.msg ?? ''}`;
}

function runCluster(opts: { basePort: number; dataDir: string; replicas: number; quiet: boolean }): void {
  const ids = DEFAULT_IDS.concat(['D', 'E', 'F', 'G']).slice(0, opts.replicas);
  const addresses = localAddresses(opts.basePort, ids.length);
  const root = resolve(opts.dataDir);
  // Secrets, logs and the replicas' data: this user's only (folders made before too).
  restrictNewFiles();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  writeFileSync(join(root, 'cluster.pid'), String(process.pid));
  // The replicas prove the secret to each other; chat-ops finds the admin token here (.data/admin-token).
  const secret = join(root, CLUSTER_SECRET_FILE);
  const adminToken = join(root, ADMIN_TOKEN_FILE);
  for (const file of [secret, adminToken]) if (ensureSecretFile(file)) process.stdout.write(`made ${file} (0600)\n`);
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const startReplica = (id: string, i: number) => {
    const peers = ids.map((p, j) => `${p}=${addresses[j]}`).filter((_, j) => j !== i).join(',');
    const child = spawn(process.execPath, [SERVER_MAIN, '--id', id, '--listen', addresses[i]!, '--peers', peers, '--data-dir', join(root, id),
      '--cluster-secret-file', secret, '--admin-token-file', adminToken], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const file = createWriteStream(join(root, `${id}.log`), { flags: 'a' });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      file.write(`${line}\n`);
      const text = opts.quiet ? undefined : summarize(id, line);
      if (text) process.stdout.write(`${text}\n`);
    });
    child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`));
    child.on('exit', (code, signal) => {
      file.end();
      children.delete(id);
      if (!stopping) {
        process.stderr.write(`[${id}] exited (${signal ?? `code ${code}`})${children.size > 0 ? '; the others go on' : ''}\n`);
        if (children.size === 0) {
          process.stderr.write('every replica of the local cluster has exited; stopping\n');
          rmSync(join(root, 'cluster.pid'), { force: true });
          process.exit(1);
        }
      }
      if (stopping && children.size === 0) {
        rmSync(join(root, 'cluster.pid'), { force: true });
        process.exit(0);
      }
    });
    children.set(id, child);
  };

  ids.forEach((id, i) => startReplica(id, i));
  process.stdout.write(`local cluster: ${ids.map((id, i) => `${id}=${addresses[i]}`).join(' ')} (peers on the ports 1000 up); data, logs, the cluster secret and the admin token in ${root}; Ctrl-C stops it\n`);
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping the local cluster...\n');
    for (const child of children.values()) child.kill('SIGTERM');
    if (children.size === 0) process.exit(0);
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, 5_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function stopBackgroundCluster(dataDir: string): number {
  const pidFile = join(resolve(dataDir), 'cluster.pid');
  if (!existsSync(pidFile)) {
    process.stderr.write(`no local cluster is running from ${resolve(dataDir)} (no cluster.pid)\n`);
    return 1;
  }
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
    process.stdout.write(`asked the local cluster (pid ${pid}) to stop\n`);
    return 0;
  } catch {
    rmSync(pidFile, { force: true });
    process.stderr.write(`the local cluster (pid ${pid}) was not running; removed its stale pid file\n`);
    return 1;
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const program = new Command().name('local-cluster').description('A local chat cluster of separate chat-server processes on loopback');
  const common = (cmd: Command) =>
    cmd.addOption(new Option('--data-dir <path>', 'root of the replicas\' data directories and logs').default(DEFAULT_DATA_ROOT).env('CHAT_LOCAL_DATA'));
  common(program.command('start', { isDefault: true }).description('start the replicas in the foreground; Ctrl-C stops them'))
    .addOption(new Option('--base-port <port>', 'port of the first replica; the others follow').default(String(DEFAULT_BASE_PORT)))
    .addOption(new Option('--replicas <n>', 'how many replicas').default('3'))
    .option('--quiet', 'do not print the replicas\' events')
    .action((o: { dataDir: string; basePort: string; replicas: string; quiet?: boolean }) => {
      const replicas = Number(o.replicas);
      const basePort = Number(o.basePort);
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > 7) program.error('--replicas must be 1 to 7');
      if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65_000) program.error('--base-port must be a port number');
      runCluster({ basePort, dataDir: o.dataDir, replicas, quiet: o.quiet ?? false });
    });
  common(program.command('stop').description('stop a local cluster running in the background'))
    .action((o: { dataDir: string }) => process.exit(stopBackgroundCluster(o.dataDir)));
  program.parse();
}
