/**
 * What this build is: the package version (package.json) and the git commit
 * it was built from (recorded by record-build.ts into dist/build-info.json at
 * `npm run build`; "unknown" when built outside git or run from sources).
 */
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  /** The full commit hash, with "-dirty" when the work tree had uncommitted changes; "unknown" outside git. */
  commit: string;
}

/** The file record-build.ts writes next to the compiled programs. */
export const BUILD_INFO_FILE = new URL('../build-info.json', import.meta.url);
const PACKAGE_FILE = new URL('../../package.json', import.meta.url);

function readJson(url: URL): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(url, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (!cached) {
    const version = readJson(PACKAGE_FILE)?.version;
    const commit = readJson(BUILD_INFO_FILE)?.commit;
    cached = {
      version: typeof version === 'string' ? version : '0.0.0',
      commit: typeof commit === 'string' && commit !== '' ? commit : 'unknown',
    };
  }
  return cached;
}

/** The commit as people quote it: 12 hex digits (and "-dirty"), or "unknown". */
export function shortCommit(commit: string): string {
  const m = /^([0-9a-f]{12})[0-9a-f]*(-dirty)?$/.exec(commit);
  return m ? `${m[1]}${m[2] ?? ''}` : commit;
}

/** What the client programs (chat-tui, chat-ops) speak: the client protocol. */
export const CLIENT_SPEAKS: readonly string[] = ['client protocol chat.v1'];

/**
 * What `--version` prints: the program and its version, the commit, and the
 * protocol and schema versions it speaks (lines such as "peer protocol 2").
 */
export function versionText(program: string, speaks: readonly string[]): string {
  const { version, commit } = buildInfo();
  return [`${program} ${version}`, `commit ${commit}`, ...speaks].join('\n');
}
