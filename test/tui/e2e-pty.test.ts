/**
 * The built chat-tui binary in real pseudo-terminals (tmux, 80x24) against a
 * three-replica cluster: two people chat, the leader is killed mid-conversation,
 * the chat carries on with nothing lost or shown twice, and quitting gives the
 * terminal back. Needs `npm run build` and tmux.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient } from '../../src/client/index.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { TmuxServer, tmuxAvailable } from './tmux.js';

const TUI_MAIN = fileURLToPath(new URL('../../dist/tui/main.js', import.meta.url));

function runBinary(args: string[], stdin: 'pipe' | 'ignore' = 'pipe'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TUI_MAIN, ...args], { timeout: 15_000, env: { ...process.env, CHAT_TUI_CONFIG_DIR: configRoot } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
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
    for (const option of ['--servers', '--username', '--no-bell', '--version', 'CHAT_SERVERS']) expect(help.stdout).toContain(option);
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
  const count = (screen: string, text: string) => screen.split('\n').filter((l) => l.includes(text)).length;

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
      tmux.start(name, [process.execPath, TUI_MAIN, '--username', name, '--no-bell'], { CHAT_SERVERS: servers, CHAT_TUI_CONFIG_DIR: configDir });
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
    const say = async (from: string, text: string) => {
      tmux.type(from, text);
      tmux.keys(from, 'Enter');
      sent.push({ from, text });
      await see(from, `${text} ✓`, 30_000);
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
    for (const name of [alice, bob]) for (const m of sent) await see(name, m.text, 30_000);

    // The status bars name a surviving replica.
    for (const name of [alice, bob]) {
      await see(name, new RegExp(`connected to (?!${leader}\\b)[A-Z]`), 30_000);
    }

    // Nothing lost, nothing shown twice: on both screens and on the server.
    for (const name of [alice, bob]) {
      const screen = tmux.screen(name);
      for (const m of sent) expect(count(screen, m.text), `${m.text} on ${name}'s screen:\n${screen}`).toBe(1);
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
