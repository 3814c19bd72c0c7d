import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../src/tui/cli.js';
import {
  ConfSettingsStore,
  DEFAULT_SERVERS,
  invalidServer,
  legacyPath,
  resolveServers,
  savesServers,
} from '../../src/tui/settings.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chat-tui-conf-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('servers', () => {
  it('come from the option, else CHAT_SERVERS, else the saved list, else the local cluster', () => {
    expect(resolveServers('a:1, b:2', 'c:3', ['d:4'])).toEqual({ servers: ['a:1', 'b:2'], source: 'option' });
    expect(resolveServers(undefined, 'c:3,,e:5', ['d:4'])).toEqual({ servers: ['c:3', 'e:5'], source: 'env' });
    expect(resolveServers(undefined, '', ['d:4'])).toEqual({ servers: ['d:4'], source: 'saved' });
    expect(resolveServers(undefined, undefined, [])).toEqual({ servers: DEFAULT_SERVERS, source: 'default' });
    expect(DEFAULT_SERVERS).toEqual(['127.0.0.1:50051', '127.0.0.1:50052', '127.0.0.1:50053']);
  });

  it('are saved for the next runs only with --save, and only when given this time', () => {
    expect(savesServers('option', false)).toBe(false);
    expect(savesServers('env', false)).toBe(false);
    expect(savesServers('option', true)).toBe(true);
    expect(savesServers('env', true)).toBe(true);
    expect(savesServers('saved', true)).toBe(false);
    expect(savesServers('default', true)).toBe(false);
  });

  it('must look like host:port', () => {
    expect(invalidServer(['127.0.0.1:50051', 'localhost:1'])).toBeUndefined();
    expect(invalidServer(['127.0.0.1'])).toBe('127.0.0.1');
    expect(invalidServer(['h:99999'])).toBe('h:99999');
  });
});

describe('saved settings', () => {
  it('persist servers, last username and preferences in the given directory, and nothing else', () => {
    const dir = tempDir();
    const store = new ConfSettingsStore(dir);
    expect(store.read()).toMatchObject({
      servers: [],
      lastUsername: '',
      bell: true,
      unreadBatchSize: 10,
      showClusterPanel: false,
    });
    store.update({ servers: ['a:1'], lastUsername: 'alice', bell: false, unreadBatchSize: 5000 });
    const again = new ConfSettingsStore(dir).read();
    expect(again).toEqual({
      servers: ['a:1'],
      lastUsername: 'alice',
      bell: false,
      unreadBatchSize: 1000,
      showClusterPanel: false,
    });
    expect(store.path.startsWith(dir)).toBe(true);
    const onDisk = JSON.parse(readFileSync(store.path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(onDisk).sort()).toEqual([
      'bell',
      'lastUsername',
      'servers',
      'showClusterPanel',
      'unreadBatchSize',
    ]);
  });

  it('follow CHAT_TUI_CONFIG_DIR when no directory is given', () => {
    const dir = tempDir();
    const before = process.env.CHAT_TUI_CONFIG_DIR;
    process.env.CHAT_TUI_CONFIG_DIR = dir;
    try {
      expect(new ConfSettingsStore().path.startsWith(dir)).toBe(true);
    } finally {
      if (before === undefined) delete process.env.CHAT_TUI_CONFIG_DIR;
      else process.env.CHAT_TUI_CONFIG_DIR = before;
    }
  });
});

describe('command line', () => {
  it('reads --servers, --username, --no-bell and --save', () => {
    expect(parseCli(['node', 'chat-tui', '--servers', 'a:1,b:2', '--username', 'bob', '--no-bell', '--save'])).toEqual({
      servers: 'a:1,b:2',
      username: 'bob',
      bell: false,
      save: true,
    });
    expect(parseCli(['node', 'chat-tui'])).toEqual({
      servers: undefined,
      username: undefined,
      bell: true,
      save: false,
    });
  });
});

describe('the settings of earlier versions', () => {
  function withEnv(vars: Record<string, string | undefined>, run: () => void): void {
    const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    for (const [k, v] of Object.entries(vars))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    try {
      run();
    } finally {
      for (const [k, v] of Object.entries(before))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  }

  it('are kept under "chat-tui" (no -nodejs suffix), and moved over once from "chat-tui-nodejs"', () => {
    const home = tempDir();
    withEnv({ XDG_CONFIG_HOME: home, CHAT_TUI_CONFIG_DIR: undefined }, () => {
      const old = join(home, 'chat-tui-nodejs', 'config.json');
      mkdirSync(join(home, 'chat-tui-nodejs'));
      writeFileSync(
        old,
        JSON.stringify({
          servers: ['10.0.0.1:50051'],
          lastUsername: 'alice',
          bell: false,
          unreadBatchSize: 25,
          showClusterPanel: true,
        }),
      );
      const store = new ConfSettingsStore();
      expect(store.path).toBe(join(home, 'chat-tui', 'config.json'));
      expect(legacyPath(store.path)).toBe(old);
      expect(store.read()).toEqual({
        servers: ['10.0.0.1:50051'],
        lastUsername: 'alice',
        bell: false,
        unreadBatchSize: 25,
        showClusterPanel: true,
      });
      expect(existsSync(old)).toBe(false);
      // Changed later, it stays changed.
      store.update({ bell: true });
      expect(new ConfSettingsStore().read().bell).toBe(true);
    });
  });
});
