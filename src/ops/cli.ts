/**
 * The chat-ops command line: global options (servers, TLS), the commands, and
 * the exit statuses scripts rely on.
 */
import { Command, CommanderError, Option } from 'commander';
import { tlsCaOption, tlsCertOption, tlsKeyOption } from '../cli/tls-options.js';
import type { ClientOptions, ClusterApi } from '../client/api.js';
import { runForceLeader } from './commands/force-leader.js';
import type { Ask } from './commands/confirm.js';
import type { CommandIo } from './commands/io.js';
import { runLogs } from './commands/logs.js';
import { DEFAULT_ADD_TIMEOUT_S, runAddReplica, runRemoveReplica, timeoutSeconds } from './commands/membership.js';
import { runStatus } from './commands/status.js';
import { runSnapshotSave } from './commands/snapshot-save.js';
import { runTransferLeader } from './commands/transfer-leader.js';
import { DEFAULT_THRESHOLDS, EXIT_CREDENTIALS, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE } from './model/health.js';
import { clientOptions, DEFAULT_SERVERS, UsageError, type GlobalOptionValues } from './options.js';
import { LogFileEventSource } from './sources/log-files.js';
import { prepareTerminalRendering } from '../terminal/full-screen.js';
import { RpcEventSource } from './sources/rpc-events.js';
import { CLIENT_SPEAKS, versionText } from '../version/build-info.js';

const EXIT_HELP = `
Exit status:
  0  success; for status: healthy: exactly one leader, every member up, in the
     in-sync set and within the lag thresholds, no learner stuck, no replica
     that lost its data or was left behind by a forced leader, nobody waiting
     for a replica (a replica that is no longer a member may be down)
  1  status: serving but degraded: one leader serves writes, but one of the
     above is wrong (the "problem:" lines, or "problems" in --json);
     force-leader, add-replica, remove-replica, transfer-leader: refused by
     the cluster or aborted at the question; logs: no replica or log file
     could be read; snapshot save: the backup failed or did not check out
     (nothing is written then)
  2  usage error: unknown command or option, bad address or replica id,
     unreadable TLS file, watch without an interactive terminal, add-replica
     or remove-replica without a terminal to ask and without --yes
  3  add-replica, remove-replica, transfer-leader, snapshot save: no leader
     answered, or not in time (a change may or may not have been made: check
     with chat-ops status)
  4  add-replica: the replica was added as a learner but is not a voting
     member within --timeout (it stays a learner until it catches up)
  5  force-leader, add-replica, remove-replica, transfer-leader, snapshot
     save: no operator credentials were given, or the cluster refused them
     (UNAUTHENTICATED: missing or wrong admin token; PERMISSION_DENIED:
     credentials that are not an operator's)
  6  status: not serving: no leader (a total outage waits for a replica, or an
     election is under way), several replicas claim to lead, or none answers

Operator credentials (force-leader, add-replica, remove-replica,
transfer-leader, snapshot save): the admin token from --admin-token-file (or
CHAT_ADMIN_TOKEN_FILE, or the token itself in CHAT_ADMIN_TOKEN; for the local
cluster, .data/admin-token), or a client certificate naming an operator
(--tls-cert/--tls-key; see README, "Security").

Examples:
  chat-ops watch                                   # full-screen dashboard of the local cluster
  chat-ops --servers 10.0.0.1:50051,10.0.0.2:50051 status --json
  chat-ops status || page-oncall                   # monitoring: 1 degraded, 6 not serving
  chat-ops logs --follow --kind election,isr       # elections and in-sync set changes as they happen
  chat-ops watch --log-file .data/A.log --log-file .data/B.log   # no network path: tail local logs
  chat-ops force-leader 127.0.0.1:50052            # after a total outage, accepting data loss
  chat-ops add-replica D 10.0.0.4:50051 --admin-token-file admin.token
                                                   # grow the cluster: D catches up as a learner, then votes
  chat-ops remove-replica D --yes                  # shrink it again, without the question
  chat-ops transfer-leader B                       # B leads from now on (a few round trips' pause, no election)
  chat-ops snapshot save backup.chat               # a backup; chat-server restore builds a new cluster from it`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function lagEntries(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--max-lag-entries must be a whole number of entries (1 or more), not "${value}"`);
  return n;
}

function lagSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 86_400)
    throw new UsageError(`--max-lag-seconds must be between 0.1 and 86400, not "${value}"`);
  return n;
}

function intervalMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 100 || n > 60_000)
    throw new UsageError(`--interval must be between 100 and 60000 ms, not "${value}"`);
  return Math.round(n);
}

export interface CliDeps {
  io: CommandIo;
  connect(options: ClientOptions): ClusterApi;
  /** Reads the answer to a confirmation; default: a line from standard input. */
  ask?: Ask;
  /** Whether someone can answer a question; default: standard input is a terminal. */
  interactive?: boolean;
  /** The environment the admin token may come from (CHAT_ADMIN_TOKEN); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Runs chat-ops with `argv` (as process.argv: node, script, args...); resolves with the exit status. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { io } = deps;
  const asking = {
    ...(deps.ask ? { ask: deps.ask } : {}),
    ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
  };
  let code = EXIT_OK;
  let cluster: ClusterApi | undefined;
  const open = (cmd: Command): ClusterApi => {
    cluster = deps.connect(clientOptions(cmd.optsWithGlobals<GlobalOptionValues>(), deps.env));
    return cluster;
  };
  /** For the commands that change the cluster: undefined (exit 5, said why) when no operator credentials were given. */
  const openAsOperator = (cmd: Command, command: string): ClusterApi | undefined => {
    const options = clientOptions(cmd.optsWithGlobals<GlobalOptionValues>(), deps.env);
    if (!options.adminToken && !options.tls?.cert) {
      io.err(
        `chat-ops ${command}: this changes the cluster and needs operator credentials: the admin token (--admin-token-file FILE, CHAT_ADMIN_TOKEN_FILE or CHAT_ADMIN_TOKEN) or an operator certificate (--tls-cert/--tls-key). Nothing was changed.\n`,
      );
      code = EXIT_CREDENTIALS;
      return undefined;
    }
    cluster = deps.connect(options);
    return cluster;
  };

  const program = new Command()
    .name('chat-ops')
    .description(
      'Operator console of the replicated chat cluster: a live dashboard, one-shot status, the merged event log, membership changes, and the total-outage override.',
    )
    .version(
      versionText('chat-ops', CLIENT_SPEAKS),
      '-V, --version',
      'print the version, the commit it was built from, and the protocol it speaks',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(chat-ops --help lists the commands and options)')
    .addOption(
      new Option('--servers <list>', 'replica addresses, host:port,host:port')
        .env('CHAT_SERVERS')
        .default(DEFAULT_SERVERS),
    )
    .addOption(tlsCaOption())
    .addOption(tlsCertOption())
    .addOption(tlsKeyOption())
    .addOption(
      new Option(
        '--admin-token-file <file>',
        "the operators' admin token, for force-leader, add-replica, remove-replica",
      ).env('CHAT_ADMIN_TOKEN_FILE'),
    )
    .addHelpText('after', EXIT_HELP);

  program
    .command('watch')
    .description(
      "full-screen dashboard: every replica's role, log positions and lag, and the merged event timeline (? lists the keys)",
    )
    .option('--interval <ms>', 'status refresh interval', intervalMs, 500)
    .option('--log-file <path>', 'tail this pino JSON log instead of the event streams (repeatable)', collect)
    .action(async (opts: { interval: number; logFile?: string[] }, cmd: Command) => {
      const api = open(cmd);
      const logFiles = opts.logFile ?? [];
      const source = logFiles.length > 0 ? new LogFileEventSource(logFiles) : new RpcEventSource(api);
      // Ink and React load only for the dashboard: the one-shot commands start faster without them.
      if (process.stdin.isTTY && process.stdout.isTTY) prepareTerminalRendering();
      const { runWatch } = await import('./commands/watch.js');
      code = await runWatch(api, source, io, { intervalMs: opts.interval });
    });

  program
    .command('status')
    .description(
      'one status sweep of every replica, as a table or JSON; exit 0 healthy, 1 serving but degraded, 6 not serving (see below)',
    )
    .option(
      '--json',
      'print {leader, healthy, serving, problems, waitingFor, members, learners, replicas: [...]} instead of the table',
    )
    .option(
      '--max-lag-entries <n>',
      'a member more entries behind the leader than this is lagging',
      lagEntries,
      DEFAULT_THRESHOLDS.lagEntries,
    )
    .option(
      '--max-lag-seconds <s>',
      "a member behind the leader's commit index this long is lagging (a learner: stuck)",
      lagSeconds,
      DEFAULT_THRESHOLDS.lagMs / 1000,
    )
    .action(async (opts: { json?: boolean; maxLagEntries: number; maxLagSeconds: number }, cmd: Command) => {
      code = await runStatus(open(cmd), io, {
        json: opts.json === true,
        thresholds: { lagEntries: opts.maxLagEntries, lagMs: opts.maxLagSeconds * 1000 },
      });
    });

  program
    .command('logs')
    .description('the merged events of every replica as lines: time, replica, kind, epoch, message, details')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--replica <ids>', 'only these replicas, e.g. A or A,B (repeatable)', collect)
    .option(
      '--kind <kinds>',
      'only these kinds: exact (election.won) or a prefix (election = election.*) (repeatable)',
      collect,
    )
    .option('--log-file <path>', 'read this pino JSON log instead of the event streams (repeatable)', collect)
    .option('--json', 'one JSON object per event and line: time, timeMs, replica, kind, epoch, message, details, seq')
    .action(
      async (
        opts: { follow?: boolean; replica?: string[]; kind?: string[]; logFile?: string[]; json?: boolean },
        cmd: Command,
      ) => {
        const logFile = opts.logFile ?? [];
        const api = logFile.length > 0 ? undefined : open(cmd);
        code = await runLogs(api, io, {
          follow: opts.follow === true,
          replica: opts.replica ?? [],
          kind: opts.kind ?? [],
          logFile,
          json: opts.json === true,
        });
      },
    );

  program
    .command('force-leader')
    .description(
      'after a total outage: make this replica leader, accepting that writes held only by unreachable replicas are lost',
    )
    .argument('<replica>', "the replica's address (host:port) or id")
    .option('-y, --yes', 'do not ask for confirmation (scripts)')
    .action(async (target: string, opts: { yes?: boolean }, cmd: Command) => {
      const api = openAsOperator(cmd, 'force-leader');
      if (api) code = await runForceLeader(api, io, target, { ...asking, yes: opts.yes === true });
    });

  program
    .command('snapshot')
    .description('backups: `snapshot save FILE` (restore with chat-server restore)')
    .command('save')
    .description(
      'save a consistent snapshot of the chat state from the leader to FILE, with the log index it holds and its SHA-256 (checked before FILE is written)',
    )
    .argument('<file>', 'where to write the backup')
    .option('--force', 'replace FILE if it exists')
    .option('--json', 'print the outcome (index, size, checksum) as JSON')
    .action(async (file: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const api = openAsOperator(cmd, 'snapshot save');
      if (api) code = await runSnapshotSave(api, io, file, { force: opts.force === true, json: opts.json === true });
    });

  program
    .command('transfer-leader')
    .description(
      'the leader hands leadership over (to ID, or to the most up-to-date replica in step): writes pause for a few round trips, not an election',
    )
    .argument('[id]', 'the replica to lead from now on')
    .option('--json', 'print the outcome as JSON')
    .action(async (target: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const api = openAsOperator(cmd, 'transfer-leader');
      if (api) code = await runTransferLeader(api, io, target, { json: opts.json === true });
    });

  program
    .command('add-replica')
    .description(
      'add a replica to the running cluster: it catches up as a learner (no vote), then the leader makes it a voting member; waits for that (asks first)',
    )
    .argument('<id>', "the new replica's id (as its --id): 1-32 letters, digits, _ or -")
    .argument('<address>', 'host:port at which clients reach it')
    .option(
      '--peer-address <host:port>',
      'where the other replicas reach it (its --peer-listen; default: the port 1000 up)',
    )
    .option('-y, --yes', 'do not ask for confirmation (scripts)')
    .option('--no-wait', 'return once the learner is added, without waiting for it to become a voting member')
    .option(
      '--timeout <seconds>',
      'how long to wait for it to become a voting member',
      timeoutSeconds,
      DEFAULT_ADD_TIMEOUT_S,
    )
    .option('--json', 'print the outcome and the configuration as JSON')
    .action(
      async (
        id: string,
        address: string,
        opts: { peerAddress?: string; yes?: boolean; wait: boolean; timeout: number; json?: boolean },
        cmd: Command,
      ) => {
        const api = openAsOperator(cmd, 'add-replica');
        if (!api) return;
        code = await runAddReplica(api, io, id, address, {
          ...asking,
          yes: opts.yes === true,
          wait: opts.wait,
          timeoutMs: opts.timeout * 1000,
          json: opts.json === true,
          ...(opts.peerAddress ? { peerAddress: opts.peerAddress } : {}),
        });
      },
    );

  program
    .command('remove-replica')
    .description(
      'remove a voting member or a learner from the cluster; removing the leader makes it step down (asks first)',
    )
    .argument('<replica>', "the replica's id (or address)")
    .option('-y, --yes', 'do not ask for confirmation (scripts)')
    .option('--json', 'print the outcome and the configuration as JSON')
    .action(async (target: string, opts: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const api = openAsOperator(cmd, 'remove-replica');
      if (api)
        code = await runRemoveReplica(api, io, target, { ...asking, yes: opts.yes === true, json: opts.json === true });
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof UsageError) {
      io.err(`chat-ops: ${err.message}\n`);
      return EXIT_USAGE;
    }
    io.err(`chat-ops: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_UNHEALTHY;
  } finally {
    (cluster as ClusterApi | undefined)?.close();
  }
  return code;
}
