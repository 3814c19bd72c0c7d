/**
 * The built chat-tui binary in real pseudo-terminals (tmux, 80x24) against a
 * three-replica cluster: two people chat, the leader is killed mid-conversation,
 * the chat carries on with nothing lost or shown twice (a multi-line message and
 * a two-line paste included), and quitting gives the terminal back. Needs
 * `npm run build` and tmux.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient } from '../../src/client/index.js';
import { freePort, startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { TmuxServer, tmuxAvailable } from './tmux.js';

const TUI_MAIN = fileURLToPath(new URL('../../dist/tui/main.js', import.meta.url));

function runBinary(
  args: string[],
  stdin: 'pipe' | 'ignore' = 'pipe',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [TUI_MAIN, ...args],
      { timeout: 15_000, env: { ...process.env, CHAT_TUI_CONFIG_DIR: configRoot } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (stdin === 'pipe') child.stdin?.end();
  });
}

let configRoot: string;

beforeAll(() => {
  if (!existsSync(TUI_MAIN)) throw new Error(`${TUI_MAIN} is missing: run \`npm run build\` first`);
  if (!tmuxAvailable()) throw new Error('tmux is needed for this test (apt-get install tmux)');
  configRoot = mkdtempSync(join(tmpdir(), 'chat-tui-e2e-'));
});
afterAll(() => {
  rmSync(configRoot, { recursive: true, force: true });
});

describe('chat-tui binary', () => {
  it('prints its version and help', async () => {
    const version = await runBinary(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^chat-tui \d+\.\d+\.\d+\ncommit /);
    const help = await runBinary(['--help']);
    expect(help.code).toBe(0);
    for (const option of ['--servers', '--username', '--no-bell', '--version', 'CHAT_SERVERS'])
      expect(help.stdout).toContain(option);
  });

  it('uses a one-off --servers without saving it, and saves it with --save', async () => {
    const tmux = new TmuxServer();
    const configDir = join(configRoot, 'one-off');
    const settings = join(configDir, 'config.json');
    const saved = () => (JSON.parse(readFileSync(settings, 'utf8')) as { servers: string[] }).servers;
    try {
      const unreachable = `127.0.0.1:${await freePort()}`;
      tmux.start('once', [process.execPath, TUI_MAIN, '--servers', unreachable], { CHAT_TUI_CONFIG_DIR: configDir });
      await waitUntil('the sign-in screen', 15_000, () =>
        tmux.screen('once').includes('cannot reach') ? true : undefined,
      );
      expect(tmux.screen('once')).not.toContain('reconnecting');
      tmux.keys('once', 'C-c');
      await waitUntil('chat-tui to exit', 10_000, () => tmux.exitStatus('once'));
      expect(saved()).toEqual([]);
      // Saved as it starts, before it takes over the screen.
      tmux.start('saving', [process.execPath, TUI_MAIN, '--servers', unreachable, '--save'], {
        CHAT_TUI_CONFIG_DIR: configDir,
      });
      await waitUntil('the servers to be saved', 15_000, () => (saved().includes(unreachable) ? true : undefined));
      expect(saved()).toEqual([unreachable]);
    } finally {
      tmux.kill();
    }
  });

  it('says it needs a terminal instead of crashing when stdin is not one', async () => {
    const result = await runBinary(['--servers', '127.0.0.1:1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs an interactive terminal');
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('chat-tui in a terminal, through a leader crash', () => {
  let cluster: TestCluster;
  const tmux = new TmuxServer();
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 3 });
  });
  afterAll(async () => {
    tmux.kill();
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  const see = (session: string, text: string | RegExp, timeoutMs = 20_000) =>
    waitUntil(`"${text}" on ${session}'s screen`, timeoutMs, () => {
      const screen = tmux.screen(session);
      return (typeof text === 'string' ? screen.includes(text) : text.test(screen)) ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${session}'s screen:\n${tmux.screen(session)}`);
    });
  /** Lines of the chat pane (right of the list's separator) that show `text`: the list previews the last message too. */
  const count = (screen: string, text: string) =>
    screen.split('\n').filter((l) => l.slice(l.indexOf('│') + 1).includes(text)).length;

  it('two users chat, the leader dies, the chat goes on, nothing lost or doubled, the terminal is restored', async () => {
    const alice = `alice${process.pid % 1000}`;
    const bob = `bob${process.pid % 1000}`;
    for (const name of [alice, bob]) {
      const c = new ChatClient({ servers: cluster.addresses });
      clients.push(c);
      await c.createAccount(name, `${name}-password`);
    }
    const servers = cluster.addresses.join(',');
    for (const name of [alice, bob]) {
      const configDir = join(configRoot, name);
      tmux.start(name, [process.execPath, TUI_MAIN, '--username', name, '--no-bell'], {
        CHAT_SERVERS: servers,
        CHAT_TUI_CONFIG_DIR: configDir,
      });
    }
    for (const name of [alice, bob]) {
      await see(name, 'Password');
      expect(tmux.alternateScreen(name)).toBe(true);
      tmux.type(name, `${name}-password`);
      tmux.keys(name, 'Enter');
      await see(name, `Logged in as ${name}`);
    }
    expect(tmux.screen(alice)).not.toContain(`${alice}-password`);

    // Alice opens a conversation with Bob through the search.
    tmux.keys(alice, 'n');
    await see(alice, 'New conversation');
    tmux.type(alice, bob);
    await see(alice, new RegExp(`▸ . ${bob}`));
    tmux.keys(alice, 'Enter');
    await see(alice, 'No messages yet');

    const sent: { from: string; text: string }[] = [];
    /** Types a message (lines broken with Alt-Enter) and sends it; it shows ✓ after its last line once stored. */
    const say = async (from: string, text: string) => {
      text.split('\n').forEach((line, i) => {
        if (i > 0) tmux.keys(from, 'M-Enter');
        tmux.type(from, line);
      });
      tmux.keys(from, 'Enter');
      sent.push({ from, text });
      await see(from, `${text.split('\n').at(-1)} ✓`, 30_000);
    };

    await say(alice, 'e2e one from alice');
    // Bob's list shows Alice with one unread message; Enter opens it.
    await see(bob, new RegExp(`${alice} +1\\b`));
    tmux.keys(bob, 'Enter');
    await see(bob, 'e2e one from alice');
    await say(bob, 'e2e two from bob');
    await see(alice, 'e2e two from bob');

    // The leader dies mid-conversation.
    const leader = await cluster.waitForLeader();
    await cluster.kill(leader);
    await say(alice, 'e2e three from alice');
    await say(bob, 'e2e four from bob');
    await say(alice, 'e2e five from alice');
    // Several lines: written with Alt-Enter, and pasted (two lines, one message, sent with Enter).
    await say(alice, 'e2e six first line\ne2e six second line');
    tmux.paste(bob, 'e2e seven pasted one\ne2e seven pasted two');
    await see(bob, 'e2e seven pasted two');
    await new Promise((r) => setTimeout(r, 300));
    expect(tmux.screen(bob)).not.toContain('e2e seven pasted two ✓');
    tmux.keys(bob, 'Enter');
    sent.push({ from: bob, text: 'e2e seven pasted one\ne2e seven pasted two' });
    await see(bob, 'e2e seven pasted two ✓', 30_000);
    const lines = sent.flatMap((m) => m.text.split('\n'));
    for (const name of [alice, bob]) for (const line of lines) await see(name, line, 30_000);

    // The status bars name a surviving replica.
    for (const name of [alice, bob]) {
      await see(name, new RegExp(`connected to (?!${leader}\\b)[A-Z]`), 30_000);
    }

    // Nothing lost, nothing shown twice: on both screens and on the server.
    for (const name of [alice, bob]) {
      const screen = tmux.screen(name);
      for (const line of lines) expect(count(screen, line), `${line} on ${name}'s screen:\n${screen}`).toBe(1);
    }
    const probe = new ChatClient({ servers: cluster.addresses });
    clients.push(probe);
    await probe.login(alice, `${alice}-password`);
    const history = await probe.getHistory(bob);
    expect(history.messages.map((m) => m.text)).toEqual(sent.map((m) => m.text));

    // Quitting with q, and being stopped with SIGTERM, both give the terminal back.
    tmux.keys(alice, 'Escape');
    await see(alice, 'Enter open');
    tmux.keys(alice, 'q');
    await waitUntil('alice to exit', 10_000, () => tmux.exitStatus(alice)).catch((err: Error) => {
      throw new Error(`${err.message}\n${tmux.screen(alice)}`);
    });
    expect(tmux.exitStatus(alice)).toBe('0');
    expect(tmux.alternateScreen(alice)).toBe(false);

    process.kill(tmux.pid(bob), 'SIGTERM');
    await waitUntil('bob to exit', 10_000, () => tmux.exitStatus(bob)).catch((err: Error) => {
      throw new Error(`${err.message}\n${tmux.screen(bob)}`);
    });
    expect(tmux.exitStatus(bob)).toBe('143');
    expect(tmux.alternateScreen(bob)).toBe(false);
  });
});
