/** The `chat-tui` command line. */

import { Command } from 'commander';
import { readFileSync } from 'node:fs';

export interface CliOptions {
  /** Comma-separated `host:port` list, if given. */
  servers: string | undefined;
  username: string | undefined;
  /** False with `--no-bell`; true otherwise (the saved preference then decides). */
  bell: boolean;
  /** `--save`: remember the servers given this time for the next runs. */
  save: boolean;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildCommand(): Command {
  return new Command()
    .name('chat-tui')
    .description(
      'Full-screen terminal chat client for the replicated chat cluster.\n\n' +
        'Servers come from --servers, else the CHAT_SERVERS environment variable (comma-separated),\n' +
        'else the list saved with --save, else the local cluster 127.0.0.1:50051,127.0.0.1:50052,127.0.0.1:50053.\n' +
        'Settings are kept with conf (project "chat-tui"); CHAT_TUI_CONFIG_DIR points them elsewhere.\n' +
        'Passwords and session tokens are never saved. Press ? on the main screen for every key.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-s, --servers <list>', 'comma-separated host:port of the replicas, e.g. 127.0.0.1:50051,127.0.0.1:50052')
    .option('-u, --username <name>', 'username to fill in on the sign-in screen')
    .option('--save', 'remember the servers given with --servers (or CHAT_SERVERS) for the next runs')
    .option('--no-bell', 'never ring the terminal bell for new messages in this run')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError();
}

export function parseCli(argv: readonly string[]): CliOptions {
  const command = buildCommand();
  command.parse([...argv], { from: 'node' });
  const opts = command.opts<{ servers?: string; username?: string; bell: boolean; save?: boolean }>();
  return { servers: opts.servers, username: opts.username, bell: opts.bell, save: opts.save === true };
}
