#!/usr/bin/env node
import * as grpc from '@grpc/grpc-js';
import { Command, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { ConfigError, currentLogLevel, resolveConfig, type ServerOptionValues } from './config.js';
import { describeCrash, isStorageError } from './crash.js';
import { restrictNewFiles } from './file-modes.js';
import { ListenError, startServer } from './server.js';
import { serverSpeaks } from './versions.js';
import { versionText } from '../version/build-info.js';
import { DirectoryLockError } from './storage/data-dir-lock.js';
import { DataDirError } from './sqlite/database.js';
import { StateBehindLogError } from './replica/resume.js';
import { LogDamagedError } from './storage/segmented-log.js';
import { ClusterMismatchError } from './storage/state-store.js';
import { restoreDataDir } from './restore.js';
import { applyEnvBooleans, EnvBooleanError, EXIT_FAILURE, EXIT_USAGE, parseOrExit } from '../cli/exit-status.js';
import { BackupFileError, readBackupFile } from '../backup/backup-file.js';

const program = new Command()
  .name('chat-server')
  .description(
    'One replica of the replicated chat service. With no options: a single replica "A" on 127.0.0.1:50051 with its data in ./data/A.',
  )
  .version(
    versionText('chat-server', serverSpeaks()),
    '-V, --version',
    'print the version, the commit it was built from, and the protocol and schema versions it speaks',
  )
  .addOption(new Option('--id <id>', "this replica's id").env('CHAT_ID'))
  .addOption(
    new Option('--listen <host:port>', "address to listen on for clients (default: this replica's address)").env(
      'CHAT_LISTEN',
    ),
  )
  .addOption(
    new Option('--advertise <host:port>', 'address clients reach this replica at (default: --listen)').env(
      'CHAT_ADVERTISE',
    ),
  )
  .addOption(
    new Option(
      '--peer-listen <host:port>',
      "address to listen on for the other replicas (default: this replica's peer address)",
    ).env('CHAT_PEER_LISTEN'),
  )
  .addOption(
    new Option(
      '--peer-advertise <host:port>',
      'address the other replicas reach this one at (default: --peer-listen, else the client address with the port 1000 up: 50051 -> 51051)',
    ).env('CHAT_PEER_ADVERTISE'),
  )
  .addOption(
    new Option(
      '--peers <list>',
      'the other replicas, e.g. B=10.0.0.2:50051,C=10.0.0.3:50051; a peer address after a slash: B=10.0.0.2:50051/10.0.0.2:51051',
    ).env('CHAT_PEERS'),
  )
  .addOption(
    new Option(
      '--cluster-file <path>',
      'JSON file {"name": "chat", "replicas": [{"id", "address", "peerAddress"?, "listen"?, "peerListen"?}]} instead of --peers',
    ).env('CHAT_CLUSTER_FILE'),
  )
  .addOption(
    new Option('--cluster-name <name>', 'cluster name; replicas of other clusters are refused (default: chat)').env(
      'CHAT_CLUSTER_NAME',
    ),
  )
  .addOption(
    new Option(
      '--cluster-id <hex>',
      'the id of a cluster restored from a backup, for a new replica joining it (chat-ops status shows it); the data directory keeps it',
    ).env('CHAT_CLUSTER_ID'),
  )
  .addOption(
    new Option('--data-dir <path>', 'where this replica keeps its database (default: ./data/<id>)').env(
      'CHAT_DATA_DIR',
    ),
  )
  .addOption(
    new Option('--log-level <level>', 'trace, debug, info, warn, error')
      .env('CHAT_LOG_LEVEL')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  )
  .addOption(
    new Option('--log-file <path>', 'write the JSON log there instead of standard output').env('CHAT_LOG_FILE'),
  )
  .addOption(
    new Option(
      '--metrics-listen <host:port>',
      'serve Prometheus /metrics, /healthz and /readyz over HTTP there, e.g. 127.0.0.1:9151 (default: off; unauthenticated, so loopback or a management network)',
    ).env('CHAT_METRICS_LISTEN'),
  )
  .addOption(
    new Option(
      '--cluster-secret-file <path>',
      'a secret every replica of the cluster holds (16+ random characters); peers prove it on every call',
    ).env('CHAT_CLUSTER_SECRET_FILE'),
  )
  .addOption(
    new Option(
      '--insecure-peers',
      'authenticate no peer (throwaway experiments only: anyone reaching the peer listener can rewrite the chat; environment: 1/0, true/false, yes/no)',
    ).env('CHAT_INSECURE_PEERS'),
  )
  .addOption(
    new Option(
      '--admin-token-file <path>',
      "the operators' token (16+ random characters), needed by force-leader, add-replica, remove-replica, transfer-leader and snapshot save",
    ).env('CHAT_ADMIN_TOKEN_FILE'),
  )
  .addOption(
    new Option(
      '--tls-cert <path>',
      'PEM certificate of this replica (enables TLS on both listeners and between replicas)',
    ).env('CHAT_TLS_CERT'),
  )
  .addOption(new Option('--tls-key <path>', 'PEM private key of this replica').env('CHAT_TLS_KEY'))
  .addOption(
    new Option(
      '--tls-ca <path>',
      'PEM CA of the cluster: peers must present certificates it signed naming them (chat://CLUSTER/replica/ID); clients may (operators: chat://CLUSTER/operator/NAME)',
    ).env('CHAT_TLS_CA'),
  )
  .addOption(
    new Option(
      '--tls-require-client-cert',
      'clients must present a certificate signed by --tls-ca (environment: 1/0, true/false, yes/no)',
    ).env('CHAT_TLS_REQUIRE_CLIENT_CERT'),
  )
  .addOption(
    new Option(
      '--login-limit-account <rate>',
      'log-in attempts per account: a burst, refilled per period (default 10/1m; only failures count)',
    ).env('CHAT_LOGIN_LIMIT_ACCOUNT'),
  )
  .addOption(
    new Option('--login-limit-address <rate>', 'log-ins and new accounts per client address (default 100/1m)').env(
      'CHAT_LOGIN_LIMIT_ADDRESS',
    ),
  )
  .addOption(
    new Option('--send-limit-session <rate>', 'messages sent per session (default 50/10s)').env(
      'CHAT_SEND_LIMIT_SESSION',
    ),
  )
  .addOption(
    new Option('--max-connections-per-address <n>', 'client connections at once from one address (default 200)').env(
      'CHAT_MAX_CONNECTIONS_PER_ADDRESS',
    ),
  )
  .addOption(
    new Option('--max-snapshot-mb <n>', 'the largest snapshot taken from a peer, in MiB (default 4096)').env(
      'CHAT_MAX_SNAPSHOT_MB',
    ),
  )
  .addOption(
    new Option(
      '--join',
      'a new replica for a running cluster: start with an empty configuration and wait until an operator adds it (chat-ops add-replica ID ADDRESS); ignored once the data directory has state (environment: 1/0, true/false, yes/no)',
    ).env('CHAT_JOIN'),
  )
  .addOption(
    new Option(
      '--mode <mode>',
      'replication mode of the whole cluster: in-sync (any n-1 crashes; default) or majority (Raft quorums: partition-safe, 2f+1 replicas for f faults)',
    )
      .env('CHAT_MODE')
      .choices(['in-sync', 'majority']),
  )
  .addOption(new Option('--heartbeat-ms <ms>', 'leader heartbeat interval (default 100)').env('CHAT_HEARTBEAT_MS'))
  .addOption(
    new Option(
      '--election-timeout-ms <ms>',
      'minimum election timeout; the actual one is random up to twice this (default 250)',
    ).env('CHAT_ELECTION_TIMEOUT_MS'),
  )
  .addOption(
    new Option(
      '--sync-timeout-ms <ms>',
      'a follower silent this long leaves the in-sync set; writes stall at most this long when one dies (default 500)',
    ).env('CHAT_SYNC_TIMEOUT_MS'),
  )
  .addOption(
    new Option('--compact-threshold <n>', 'compact the log when this many applied entries pile up (default 20000)').env(
      'CHAT_COMPACT_THRESHOLD',
    ),
  )
  .addOption(
    new Option(
      '--retain-entries <n>',
      'applied entries kept after compaction for followers that lag a little (default 5000)',
    ).env('CHAT_RETAIN_ENTRIES'),
  )
  .addHelpText(
    'after',
    `
Examples:
  chat-server                                         # one replica on 127.0.0.1:50051
  chat-server --id A --listen 127.0.0.1:50051 --peers B=127.0.0.1:50052,C=127.0.0.1:50053 \
              --cluster-secret-file cluster.secret --admin-token-file admin.token --data-dir .data/A
                                                      # peers on 127.0.0.1:51051-51053 (the default)
  chat-server --cluster-file cluster.json --id B --cluster-secret-file cluster.secret
                                                      # one of several machines
  chat-server --id D --listen 127.0.0.1:50054 --data-dir .data/D --join --cluster-secret-file .data/cluster.secret
                                                      # a new replica; then: chat-ops add-replica D 127.0.0.1:50054
  chat-server restore backup.chat --data-dir /var/lib/chat --id A --cluster-file cluster.json
                                                      # a replica of a new cluster from a backup (chat-ops snapshot save);
                                                      # see chat-server restore --help
Signals: SIGTERM or SIGINT stops it (a leader hands leadership over first); SIGHUP reopens --log-file and
reads the log level again (--log-level or CHAT_LOG_LEVEL as given at start, else the cluster file's "logLevel").
Exit status: 0 stopped by SIGTERM or SIGINT; 1 failed while running (a disk that filled up or failed, a bug: the
last log line says why); 2 usage or configuration: an unknown option, a bad value or environment variable (CHAT_JOIN=maybe),
a cluster file with an unknown key, a port in use, an unusable, locked or foreign data directory, a newer database schema.
A replica with peers refuses to start without --cluster-secret-file or certificates (exit status 2).
Rates look like 10/1m: a burst of 10, then 10 more a minute.
Logs are pino JSON (in a clone: chat-server ... | npx --no-install pino-pretty); chat-ops logs prints their events`,
  );

/** `chat-server restore FILE ...`: builds a data directory of a new cluster from a backup, then exits. */
function restoreCommand(): Command {
  return new Command()
    .name('chat-server restore')
    .description(
      "Builds one replica's data directory of a NEW cluster from a backup (chat-ops snapshot save FILE): the backup's state at its log index, the new cluster's replicas (all in sync), no election state, and a fresh cluster identity, so the new cluster never talks with the one the backup came from. Restore every replica of the new cluster from the same file, then start them as usual.",
    )
    .argument('<file>', 'the backup')
    .requiredOption('--data-dir <path>', 'the new data directory (must be empty or missing)')
    .addOption(new Option('--id <id>', 'the replica this data directory is for'))
    .addOption(
      new Option('--cluster-file <path>', 'the new cluster, as chat-server reads it (or --peers and --listen)'),
    )
    .addOption(
      new Option(
        '--peers <list>',
        'the other replicas of the new cluster, e.g. B=10.0.0.2:50051,C=10.0.0.3:50051 (a peer address after a slash)',
      ),
    )
    .addOption(new Option('--listen <host:port>', "this replica's address, with --peers"))
    .addOption(
      new Option('--advertise <host:port>', 'the address clients reach it at, with --peers (default: --listen)'),
    )
    .addOption(
      new Option(
        '--peer-advertise <host:port>',
        'the address the other replicas reach it at, with --peers (default: the client address with the port 1000 up)',
      ),
    )
    .addOption(
      new Option('--cluster-name <name>', "the new cluster's name (default: the cluster file's, else the backup's)"),
    )
    .addOption(
      new Option(
        '--cluster-id <hex>',
        "the new cluster's id (default: derived from the backup's checksum, the same for every replica restored from it; give each cluster its own when restoring one backup into two clusters)",
      ),
    )
    .addHelpText(
      'after',
      `
Example (on each machine, the same file and cluster file):
  chat-server restore backup.chat --data-dir /var/lib/chat --id A --cluster-file cluster.json
  chat-server --cluster-file cluster.json --id A --data-dir /var/lib/chat
Exit status: 0 restored; 1 failed while writing; 2 a bad or damaged backup, a data directory that is not empty, a bad option or cluster file.`,
    )
    .action((file: string, v: ServerOptionValues & { clusterId?: string }) => {
      // A data directory holds the chat: this user's only, like the server's own (file-modes.ts).
      restrictNewFiles();
      try {
        const backup = readBackupFile(file);
        // Without a cluster file, the new cluster keeps the backup's name unless told otherwise.
        // insecurePeers: restore opens no listener; the peer credentials are the later start's business.
        const config = resolveConfig({
          ...v,
          insecurePeers: true,
          clusterName: v.clusterName ?? (v.clusterFile ? undefined : backup.header.cluster),
        });
        const done = restoreDataDir(backup, file, config, config.clusterId);
        process.stdout.write(
          `restored replica ${config.id} of cluster "${config.cluster}" (cluster id ${done.clusterId}) into ${config.dataDir}: the state of "${done.header.cluster}" up to index ${done.header.lastIndex} (epoch ${done.header.lastEpoch}), taken from ${done.header.takenFrom} at ${done.header.takenAt}; state digest ${done.digest}\n`,
        );
        process.exit(0);
      } catch (err) {
        const known =
          err instanceof ConfigError ||
          err instanceof BackupFileError ||
          err instanceof DirectoryLockError ||
          err instanceof DataDirError ||
          err instanceof ClusterMismatchError;
        process.stderr.write(
          `chat-server restore: ${known ? (err as Error).message : `failed: ${(err as Error).stack ?? String(err)}`}\n`,
        );
        process.exit(known ? EXIT_USAGE : EXIT_FAILURE);
      }
    });
}

async function main(): Promise<void> {
  parseOrExit(program, process.argv);
  // Data, logs and secrets: this user's only (file-modes.ts).
  restrictNewFiles();
  let values: ServerOptionValues = {};
  // grpc-js's own console lines would duplicate our messages; GRPC_VERBOSITY=DEBUG brings them back.
  if (!process.env.GRPC_VERBOSITY) grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  let logger: Logger | undefined;
  let dataDir: string | undefined;
  let destination: ReturnType<typeof pino.destination> | undefined;
  const flush = () => {
    try {
      destination?.flushSync();
    } catch {
      // nothing more to write
    }
  };
  try {
    applyEnvBooleans(program);
    values = program.opts<ServerOptionValues>();
    const config = resolveConfig(values);
    dataDir = config.dataDir;
    // Synchronous writes: the log carries events and per-second aggregates, not a line per request,
    // and nothing may be lost when the process exits right after a line.
    destination = config.logFile
      ? pino.destination({ dest: config.logFile, mkdir: true, sync: true })
      : pino.destination({ dest: 1, sync: true });
    logger = pino({ level: config.logLevel, base: { pid: process.pid } }, destination);
    const running = await startServer(config, logger);
    // Serving: anything thrown from here on (a write the disk refused, a bug) stops the replica
    // with a line that says why, in the log and on standard error.
    process.on('uncaughtException', (err: Error) => {
      const message = describeCrash(err, config.dataDir);
      logger!.fatal(
        { event: 'server.crashed', replica: config.id, err, code: (err as { code?: unknown }).code },
        message,
      );
      flush();
      process.stderr.write(`chat-server ${config.id}: ${message}\n`);
      process.exit(1);
    });
    let signals = 0;
    const shutdown = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) process.exit(130);
      logger!.info({ event: 'server.stopping', replica: config.id, signal }, `received ${signal}; stopping`);
      running.stop().then(
        () => {
          flush();
          process.exit(0);
        },
        (err: Error) => {
          logger!.error({ err }, 'error while stopping');
          flush();
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    // logrotate and a changed log level: reopen the log file, read the level again (see currentLogLevel).
    process.on('SIGHUP', () => {
      try {
        if (config.logFile) destination!.reopen();
        const level = currentLogLevel(values);
        const before = logger!.level;
        logger!.level = level;
        logger!.info(
          { event: 'server.reloaded', replica: config.id, logLevel: level, before, logFile: config.logFile ?? null },
          `SIGHUP: ${config.logFile ? `reopened ${config.logFile}; ` : ''}log level ${level}`,
        );
      } catch (err) {
        logger!.warn(
          { event: 'server.reload_failed', replica: config.id, reason: (err as Error).message },
          `SIGHUP: ${(err as Error).message}; the log level stays ${logger!.level}`,
        );
      }
    });
  } catch (err) {
    // The disk refusing the database (full, I/O errors) is the machine's problem, like an unusable data directory.
    const storage = dataDir !== undefined && isStorageError(err);
    const known =
      storage ||
      err instanceof ConfigError ||
      err instanceof EnvBooleanError ||
      err instanceof ListenError ||
      err instanceof DataDirError ||
      err instanceof DirectoryLockError ||
      err instanceof ClusterMismatchError ||
      err instanceof LogDamagedError ||
      err instanceof StateBehindLogError;
    const message = storage ? describeCrash(err, dataDir!) : (err as Error).message;
    if (known)
      logger?.fatal(
        { event: 'server.failed', ...(storage ? { code: (err as { code?: unknown }).code } : {}) },
        message,
      );
    else logger?.fatal({ event: 'server.failed', err }, message);
    flush();
    process.stderr.write(`chat-server: ${known ? message : `failed to start: ${(err as Error).stack ?? message}`}\n`);
    process.exit(known ? EXIT_USAGE : EXIT_FAILURE);
  }
}

if (process.argv[2] === 'restore') parseOrExit(restoreCommand(), process.argv.slice(3), { from: 'user' });
else void main();
