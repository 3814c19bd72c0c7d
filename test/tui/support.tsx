/** Rendering chat-tui against real clients, and bounded waits on what it shows. */

import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient, ClusterClient } from '../../src/client/index.js';
import { App } from '../../src/tui/components/App.js';
import type { TerminalSize } from '../../src/terminal/use-terminal-size.js';
import { ConfSettingsStore } from '../../src/tui/settings.js';
import { startCluster, type TestCluster } from '../support/cluster.js';

export const KEY = {
  up: '\x1B[A',
  down: '\x1B[B',
  right: '\x1B[C',
  left: '\x1B[D',
  enter: '\r',
  escape: '\x1B',
  tab: '\t',
  pageUp: '\x1B[5~',
  pageDown: '\x1B[6~',
  end: '\x1B[F',
  ctrlC: '\x03',
  ctrlN: '\x0E',
  ctrlR: '\x12',
  ctrlT: '\x14',
  ctrlU: '\x15',
  ctrlJ: '\n',
  ctrlK: '\x0B',
  altEnter: '\x1B\r',
  backspace: '\x7F',
  space: ' ',
} as const;

/** Alt (Meta) with a key, as terminals send it: Esc then the key. */
export const alt = (key: string) => `\x1B${key}`;

/** Text as a terminal with bracketed paste mode sends a paste. */
export const paste = (text: string) => `\x1B[200~${text}\x1B[201~`;

/** Terminal title changes (OSC 0 or 2) in the raw output, in order. */
export function titles(frames: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of frames) for (const m of f.matchAll(/\x1B\][02];([^\x07]*)\x07/g)) out.push(m[1]!);
  return out;
}

const ANSI = /\x1B\[[0-9;?]*[A-Za-z]|\x1B\][^\x07]*\x07/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export const tick = (ms = 0) => new Promise<void>((resolve) => (ms ? setTimeout(resolve, ms) : setImmediate(resolve)));

/** Polls `probe` until it is true; fails after `timeoutMs` with `describe()` (e.g. the last frame). */
export async function waitFor(
  probe: () => boolean,
  timeoutMs = 5000,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms${describe() ? `; last screen:\n${describe()}` : ''}`);
    await tick(20);
  }
}

export interface Tui {
  chat: ChatClient;
  cluster: ClusterClient;
  settings: ConfSettingsStore;
  configDir: string;
  /** The last frame without colours. */
  screen(): string;
  /** Every frame written so far (raw), e.g. to find the bell. */
  frames(): string[];
  press(...keys: string[]): Promise<void>;
  /** Types text as one chunk (like a paste), then waits a tick. */
  type(text: string): Promise<void>;
  /** Waits until the screen contains `text` (or matches it). */
  see(text: string | RegExp, timeoutMs?: number): Promise<void>;
  rerender(size: TerminalSize): void;
  stdout: NodeJS.WriteStream & { emit(event: 'resize'): boolean };
  close(): void;
}

export interface TuiOptions {
  servers: string[];
  size?: TerminalSize;
  username?: string;
  bell?: boolean;
  onQuit?: () => void;
}

export async function renderTui(options: TuiOptions): Promise<Tui> {
  const configDir = mkdtempSync(join(tmpdir(), 'chat-tui-test-'));
  const settings = new ConfSettingsStore(configDir);
  const chat = new ChatClient({ servers: options.servers, deadlineMs: 2000, retryBudgetMs: 20_000 });
  const cluster = new ClusterClient({ servers: options.servers, deadlineMs: 1000 });
  const element = (size: TerminalSize | undefined) => (
    <App
      chat={chat}
      cluster={cluster}
      settings={settings}
      servers={options.servers}
      username={options.username}
      bell={options.bell ?? true}
      size={size}
      onQuit={options.onQuit ?? (() => undefined)}
    />
  );
  const app = render(element(options.size));
  await tick(10);
  const screen = () => stripAnsi(app.lastFrame() ?? '');
  const tui: Tui = {
    chat,
    cluster,
    settings,
    configDir,
    screen,
    frames: () => app.frames,
    press: async (...keys) => {
      for (const k of keys) {
        app.stdin.write(k);
        // A lone Escape is held back briefly by Ink (it may start a sequence).
        await tick(k === KEY.escape ? 80 : 15);
      }
    },
    type: async (text) => {
      app.stdin.write(text);
      await tick(15);
    },
    see: (text, timeoutMs = 10_000) =>
      waitFor(() => (typeof text === 'string' ? screen().includes(text) : text.test(screen())), timeoutMs, screen),
    rerender: (size) => app.rerender(element(size)),
    stdout: app.stdout as unknown as Tui['stdout'],
    close: () => {
      if (closed) return;
      closed = true;
      app.unmount();
      chat.close();
      cluster.close();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
  let closed = false;
  return tui;
}

export interface OneReplica {
  readonly addresses: string[];
  /** A chat-tui on the cluster; closed after the test. */
  tui(options?: Partial<TuiOptions>): Promise<Tui>;
  /** A chat-tui signed in as a new account `name` (password `${name}-password`). */
  signedIn(name: string, size?: TerminalSize): Promise<Tui>;
  /** An account made through the client library, logged in (password `${name}-secret` unless given), for the other side of a conversation. */
  account(name: string, password?: string): Promise<ChatClient>;
  /** A client of the cluster, closed after the test. */
  client(): ChatClient;
}

/** A one-replica cluster for the tests of this file, and chat-tuis and clients closed after each test. */
export function oneReplica(): OneReplica {
  let cluster: TestCluster | undefined;
  const tuis: Tui[] = [];
  const clients: ChatClient[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(() => {
    for (const t of tuis.splice(0)) t.close();
    for (const c of clients.splice(0)) c.close();
  });
  const addresses = () => {
    if (!cluster) throw new Error('the cluster is not started yet');
    return cluster.addresses;
  };
  const harness: OneReplica = {
    get addresses() {
      return addresses();
    },
    async tui(options = {}) {
      const t = await renderTui({ servers: addresses(), ...options });
      tuis.push(t);
      return t;
    },
    async signedIn(name, size = { columns: 100, rows: 30 }) {
      const t = await harness.tui({ size });
      await signIn(t, name, `${name}-password`, true);
      return t;
    },
    client() {
      const c = new ChatClient({ servers: addresses() });
      clients.push(c);
      return c;
    },
    async account(name, password = `${name}-secret`) {
      const c = harness.client();
      await c.createAccount(name, password);
      await c.login(name, password);
      return c;
    },
  };
  return harness;
}

/** Signs in through the sign-in screen (creating the account first when asked). */
export async function signIn(tui: Tui, username: string, password: string, create = false): Promise<void> {
  await tui.see('Username');
  // A remembered username is filled in and the password field has the focus.
  if (/Username {2}\S/.test(tui.screen())) await tui.press(KEY.up);
  if (create) await tui.press(KEY.ctrlT);
  await tui.press(KEY.ctrlU);
  await tui.type(username);
  await tui.press(KEY.tab);
  await tui.type(password);
  if (create) {
    await tui.press(KEY.tab);
    await tui.type(password);
  }
  await tui.press(KEY.enter);
  await tui.see(`Logged in as ${username}`);
}

let counter = 0;
/** A username no other test uses. */
export function uniqueName(base: string): string {
  counter += 1;
  return `${base}${process.pid % 1000}_${counter}`;
}
