#!/usr/bin/env node
/**
 * chat-tui: the full-screen terminal chat client. Parses the command line, resolves
 * the servers, takes over the terminal (alternate screen) and guarantees it is
 * given back on every way out.
 */

import type { Instance } from 'ink';
import type { TlsOptions } from '../client/api.js';
import { parseCli } from './cli.js';
import { EXIT_FAILURE, EXIT_USAGE } from '../cli/exit-status.js';
import {
  enterFullScreen,
  installExitGuards,
  prepareTerminalRendering,
  restoreTerminal,
} from '../terminal/full-screen.js';

const LOGOUT_ON_QUIT_MS = 1500;

async function main(): Promise<number> {
  const cli = parseCli(process.argv);

  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      `chat-tui is a full-screen program and needs an interactive terminal: ${!process.stdin.isTTY ? 'stdin' : 'stdout'} is not a TTY.\n` +
        'Run it directly in a terminal (not through a pipe or redirect). For scripted use, see the client library (src/client).\n',
    );
    return EXIT_USAGE;
  }

  prepareTerminalRendering();
  // Loaded only now, so --help, --version and the checks above answer at once.
  const [
    { render },
    { createElement },
    { ChatClient, ClusterClient, tlsFromFiles },
    { App },
    { ConfSettingsStore, invalidServer, resolveServers, savesServers },
  ] = await Promise.all([
    import('ink'),
    import('react'),
    import('../client/index.js'),
    import('./components/App.js'),
    import('./settings.js'),
  ]);
  const settings = new ConfSettingsStore();
  const saved = settings.read();
  const { servers, source } = resolveServers(cli.servers, process.env.CHAT_SERVERS, saved.servers);
  const bad = invalidServer(servers);
  if (bad !== undefined) {
    process.stderr.write(`chat-tui: "${bad}" is not a host:port address (servers: ${servers.join(',')})\n`);
    return EXIT_USAGE;
  }
  if (cli.save && !savesServers(source, cli.save)) {
    process.stderr.write(
      'chat-tui: --save remembers the servers given with --servers or CHAT_SERVERS; give them too\n',
    );
    return 2;
  }
  // A one-off list is used this time only: the next plain chat-tui is not sent to it.
  if (savesServers(source, cli.save)) settings.update({ servers });
  let tls: TlsOptions | undefined;
  try {
    tls = tlsFromFiles(cli.tls ?? {});
  } catch (err) {
    process.stderr.write(`chat-tui: ${(err as Error).message}\n`);
    return 2;
  }

  const chat = new ChatClient({ servers, ...(tls ? { tls } : {}) });
  const cluster = new ClusterClient({ servers, ...(tls ? { tls } : {}) });
  const screen = enterFullScreen(1, { bracketedPaste: true, title: true });
  let ink: Instance | undefined;

  let finishing = false;
  const restore = () => restoreTerminal(ink, screen);
  const guards = installExitGuards((code, reason) => {
    if (finishing) return;
    finishing = true;
    try {
      restore();
      if (reason) process.stderr.write(`chat-tui stopped: ${reason}\n`);
      chat.close();
      cluster.close();
    } finally {
      process.exit(code);
    }
  });

  // No JSX in this file: it would import React before prepareTerminalRendering has run.
  ink = render(createElement(App, { chat, cluster, settings, servers, username: cli.username, bell: cli.bell }), {
    exitOnCtrlC: false,
    patchConsole: true,
    // Terminals that speak the kitty keyboard protocol (kitty, WezTerm, ghostty) then report Shift-Enter.
    kittyKeyboard: { mode: 'auto' },
  });
  let code = 0;
  try {
    await ink.waitUntilExit();
  } catch (err) {
    code = EXIT_FAILURE;
    finishing = true;
    restore();
    process.stderr.write(`chat-tui stopped: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  finishing = true;
  restore();
  guards.remove();
  // End the session on the server (so the account shows offline), without waiting long for a cluster that is down.
  if (chat.username) {
    await Promise.race([
      chat.logout().catch(() => undefined),
      new Promise((r) => setTimeout(r, LOGOUT_ON_QUIT_MS).unref()),
    ]);
  }
  chat.close();
  cluster.close();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chat-tui: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
