/**
 * What chat-tui remembers between runs (conf, project "chat-tui"): the server list
 * (when saved with --save), the last username and the preferences. Never a
 * password or a session token. CHAT_TUI_CONFIG_DIR points the store at another
 * directory (tests use a temp dir). Earlier versions kept it under conf's default
 * name "chat-tui-nodejs"; such settings are moved over once.
 */

import Conf from 'conf';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export const DEFAULT_SERVERS = ['127.0.0.1:50051', '127.0.0.1:50052', '127.0.0.1:50053'];
export const UNREAD_BATCH_MIN = 1;
export const UNREAD_BATCH_MAX = 1000;

export interface Preferences {
  /** Ring the terminal bell for messages to a conversation other than the open one. */
  bell: boolean;
  /** How many unread messages one "read unread" step fetches. */
  unreadBatchSize: number;
  /** Show the cluster panel when the main screen opens. */
  showClusterPanel: boolean;
}

export interface SavedSettings extends Preferences {
  servers: string[];
  lastUsername: string;
}

export const DEFAULT_SETTINGS: SavedSettings = {
  servers: [],
  lastUsername: '',
  bell: true,
  unreadBatchSize: 10,
  showClusterPanel: false,
};

/** What the screens read and write; `ConfSettingsStore` keeps it on disk. */
export interface SettingsStore {
  read(): SavedSettings;
  update(patch: Partial<SavedSettings>): SavedSettings;
  /** Where it is kept, for messages. */
  readonly path: string;
}

const KEYS = ['servers', 'lastUsername', 'bell', 'unreadBatchSize', 'showClusterPanel'] as const;

export function clampBatchSize(n: number): number {
  if (!Number.isFinite(n)) return DEFAULT_SETTINGS.unreadBatchSize;
  return Math.min(UNREAD_BATCH_MAX, Math.max(UNREAD_BATCH_MIN, Math.round(n)));
}

/** Keeps only well-formed values; anything else falls back to the default. */
export function normalizeSettings(raw: Partial<Record<string, unknown>>): SavedSettings {
  const servers = Array.isArray(raw.servers)
    ? raw.servers.filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim())
    : [];
  return {
    servers,
    lastUsername: typeof raw.lastUsername === 'string' ? raw.lastUsername : '',
    bell: typeof raw.bell === 'boolean' ? raw.bell : DEFAULT_SETTINGS.bell,
    unreadBatchSize:
      typeof raw.unreadBatchSize === 'number' ? clampBatchSize(raw.unreadBatchSize) : DEFAULT_SETTINGS.unreadBatchSize,
    showClusterPanel:
      typeof raw.showClusterPanel === 'boolean' ? raw.showClusterPanel : DEFAULT_SETTINGS.showClusterPanel,
  };
}

export class ConfSettingsStore implements SettingsStore {
  private readonly conf: Conf<SavedSettings>;

  constructor(dir: string | undefined = process.env.CHAT_TUI_CONFIG_DIR || undefined) {
    this.conf = new Conf<SavedSettings>({
      projectName: 'chat-tui',
      // conf would add "-nodejs" to the directory's name.
      projectSuffix: '',
      ...(dir ? { cwd: dir } : {}),
      defaults: DEFAULT_SETTINGS,
      // A damaged file is replaced by the defaults rather than stopping the program.
      clearInvalidConfig: true,
    });
    if (!dir) this.migrateFrom(legacyPath(this.conf.path));
  }

  /** Settings an earlier version kept elsewhere: taken over while nothing was changed here yet, then removed. */
  private migrateFrom(path: string | undefined): void {
    if (!path || !existsSync(path)) return;
    try {
      const untouched = JSON.stringify(this.read()) === JSON.stringify(normalizeSettings({}));
      if (untouched)
        this.update(normalizeSettings(JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<string, unknown>>));
      rmSync(path, { force: true });
      if (readdirSync(dirname(path)).length === 0) rmdirSync(dirname(path));
    } catch {
      // An unreadable old file is left alone; the defaults apply.
    }
  }

  get path(): string {
    return this.conf.path;
  }

  read(): SavedSettings {
    return normalizeSettings(this.conf.store as unknown as Partial<Record<string, unknown>>);
  }

  update(patch: Partial<SavedSettings>): SavedSettings {
    const next = normalizeSettings({ ...this.read(), ...patch });
    for (const key of KEYS) if (key in patch) this.conf.set(key, next[key]);
    return next;
  }
}

/** Where conf kept the settings under its default project suffix: the last `chat-tui` directory of `path` as `chat-tui-nodejs`. */
export function legacyPath(path: string): string | undefined {
  const parts = path.split(/([\\/])/);
  const i = parts.lastIndexOf('chat-tui');
  if (i < 0) return undefined;
  parts[i] = 'chat-tui-nodejs';
  return parts.join('');
}

/** Splits a comma-separated server list, dropping blanks. */
export function parseServerList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export type ServerSource = 'option' | 'env' | 'saved' | 'default';

/** Whether the servers in use are saved for the next runs: only when asked (`--save`), and only a list given this time. */
export function savesServers(source: ServerSource, save: boolean): boolean {
  return save && (source === 'option' || source === 'env');
}

/** Servers from `--servers`, else CHAT_SERVERS, else the saved list, else the local cluster defaults. */
export function resolveServers(
  option: string | undefined,
  env: string | undefined,
  saved: readonly string[],
): { servers: string[]; source: ServerSource } {
  const fromOption = parseServerList(option);
  if (fromOption.length) return { servers: fromOption, source: 'option' };
  const fromEnv = parseServerList(env);
  if (fromEnv.length) return { servers: fromEnv, source: 'env' };
  if (saved.length) return { servers: [...saved], source: 'saved' };
  return { servers: [...DEFAULT_SERVERS], source: 'default' };
}

/** A `host:port` check, so a typo is reported before any connection attempt. */
export function invalidServer(servers: readonly string[]): string | undefined {
  return servers.find(
    (s) =>
      !/^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(s) ||
      Number(s.slice(s.lastIndexOf(':') + 1)) > 65535,
  );
}
