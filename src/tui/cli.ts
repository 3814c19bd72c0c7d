/** The `chat-tui` command line. */

import { Command } from 'commander';
import type { TlsFiles } from '../client/credentials.js';
import { CLIENT_SPEAKS, versionText } from '../version/build-info.js';
import { parseOrExit } from '../cli/exit-status.js';
import { tlsCaOption, tlsCertOption, tlsKeyOption } from '../cli/tls-options.js';

export interface CliOptions {
  /** Comma-separated `host:port` list, if given. */
  servers: string | undefined;
  username: string | undefined;
  /** False with `--no-bell`; true otherwise (the saved preference then decides). */
  bell: boolean;
  /** --tls-ca, --tls-cert, --tls-key (or CHAT_TLS_CA, CHAT_TLS_CERT, CHAT_TLS_KEY). */
  tls?: TlsFiles;
  /** `--save`: remember the servers given this time for the next runs. */
  save: boolean;
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
    .version(
      versionText('chat-tui', CLIENT_SPEAKS),
      '-V, --version',
      'print the version, the commit it was built from, and the protocol it speaks',
    )
    .option('-s, --servers <list>', 'comma-separated host:port of the replicas, e.g. 127.0.0.1:50051,127.0.0.1:50052')
    .option('-u, --username <name>', 'username to fill in on the sign-in screen')
    .option('--save', 'remember the servers given with --servers (or CHAT_SERVERS) for the next runs')
    .option('--no-bell', 'never ring the terminal bell for new messages in this run')
    .addOption(tlsCaOption())
    .addOption(tlsCertOption())
    .addOption(tlsKeyOption())
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Exit status: 0 quit; 1 stopped by an error (the last line says why); 2 usage: an unknown option,
a server that is not host:port, no interactive terminal.
NO_COLOR (set and not empty) turns colours off; bold, dim and inverse stay.`,
    );
}

export function parseCli(argv: readonly string[]): CliOptions {
  const command = buildCommand();
  parseOrExit(command, argv, { from: 'node' });
  const opts = command.opts<{
    servers?: string;
    username?: string;
    bell: boolean;
    save?: boolean;
    tlsCa?: string;
    tlsCert?: string;
    tlsKey?: string;
  }>();
  const tls =
    opts.tlsCa || opts.tlsCert || opts.tlsKey ? { tls: { ca: opts.tlsCa, cert: opts.tlsCert, key: opts.tlsKey } } : {};
  return { servers: opts.servers, username: opts.username, bell: opts.bell, save: opts.save === true, ...tls };
}
