#!/usr/bin/env node
/**
 * `npm run cluster`: a local cluster of separate chat-server processes on
 * loopback, run in the foreground (Ctrl-C stops it; `npm start` runs one in the
 * background). While it runs, the same program stops it, shows its status and
 * stops, starts or restarts one replica.
 */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR_LOCK, recordedHolder } from '../server/storage/data-dir-lock.js';
import { NoRunnerError, sendControl, type ControlRequest } from './local-cluster/control.js';
import {
  controlSocketPath,
  DEFAULT_BASE_PORT,
  DEFAULT_DATA_ROOT,
  DEFAULT_REPLICAS,
  REPLICA_IDS,
} from './local-cluster/layout.js';
import { runLocalCluster } from './local-cluster/runner.js';

const SERVER_MAIN = fileURLToPath(new URL('../server/main.js', import.meta.url));

interface DataDirOption {
  dataDir: string;
}

/** Replicas whose runner was killed keep running (in process groups of their own): named, so they can be stopped. */
function leftovers(root: string): string {
  const running = REPLICA_IDS.flatMap((id) => {
    const pid = recordedHolder(join(root, id), DATA_DIR_LOCK);
    return pid === undefined ? [] : [{ id, pid }];
  });
  if (running.length === 0) return '';
  return `; but replicas of an earlier run still run: ${running.map((r) => `${r.id} (pid ${r.pid})`).join(', ')}. Stop them with: kill ${running.map((r) => r.pid).join(' ')}`;
}

/** Sends one command to the runner of `dataDir`, printing its answers; exits 0 when it did what was asked. */
async function command(dataDir: string, request: ControlRequest): Promise<never> {
  const root = resolve(dataDir);
  try {
    const last = await sendControl(controlSocketPath(root), request, (r) =>
      (r.done && !r.ok ? process.stderr : process.stdout).write(`${r.message}\n`),
    );
    process.exit(last.ok ? 0 : 1);
  } catch (err) {
    process.stderr.write(
      err instanceof NoRunnerError
        ? `no local cluster is running from ${root} (\`npm run cluster\` starts one)${leftovers(root)}\n`
        : `${(err as Error).message}\n`,
    );
    process.exit(1);
  }
}

const program = new Command()
  .name('local-cluster')
  .description(
    'A local chat cluster: separate chat-server processes on loopback ports, their data and logs in one folder',
  )
  .showHelpAfterError();
const withDataDir = (cmd: Command) =>
  cmd.addOption(
    new Option(
      '--data-dir <path>',
      "the folder of the replicas' data directories (<path>/A, ...) and logs (<path>/A.log, ...)",
    )
      .default(DEFAULT_DATA_ROOT)
      .env('CHAT_LOCAL_DATA'),
  );

withDataDir(program.command('start [replica]', { isDefault: true }))
  .description(
    'start the local cluster in the foreground (Ctrl-C stops it); with a replica id: start that stopped replica of the running cluster',
  )
  .addOption(
    new Option('--base-port <port>', 'port of the first replica; the others follow').default(String(DEFAULT_BASE_PORT)),
  )
  .addOption(
    new Option('--replicas <n>', `how many replicas (1 to ${REPLICA_IDS.length})`).default(String(DEFAULT_REPLICAS)),
  )
  .option('--quiet', "do not print the replicas' events")
  .action(
    async (replica: string | undefined, o: DataDirOption & { basePort: string; replicas: string; quiet?: boolean }) => {
      if (replica !== undefined) return command(o.dataDir, { command: 'start', replica });
      const replicas = Number(o.replicas);
      const basePort = Number(o.basePort);
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > REPLICA_IDS.length)
        program.error(`--replicas must be 1 to ${REPLICA_IDS.length}`, { exitCode: 2 });
      if (!Number.isInteger(basePort) || basePort < 1 || basePort + replicas - 1 > 65_535)
        program.error('--base-port must be a port number', { exitCode: 2 });
      const root = resolve(o.dataDir);
      await runLocalCluster({
        root,
        basePort,
        replicas,
        quiet: o.quiet ?? false,
        serverMain: SERVER_MAIN,
        dataDirHint: root === resolve(DEFAULT_DATA_ROOT) ? '' : ` --data-dir ${o.dataDir}`,
      });
    },
  );
withDataDir(program.command('stop [replica]'))
  .description(
    'stop the running local cluster (each replica with one SIGTERM); with a replica id: stop only that replica',
  )
  .action((replica: string | undefined, o: DataDirOption) =>
    command(o.dataDir, replica === undefined ? { command: 'stop' } : { command: 'stop', replica }),
  );
withDataDir(program.command('restart <replica>'))
  .description('stop one replica of the running local cluster and start it again on its port and data directory')
  .action((replica: string, o: DataDirOption) => command(o.dataDir, { command: 'restart', replica }));
withDataDir(program.command('status'))
  .description('each replica of the running local cluster: address, running or stopped, pid, role')
  .action((o: DataDirOption) => command(o.dataDir, { command: 'status' }));

await program.parseAsync();
