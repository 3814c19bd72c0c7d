/**
 * The last step of `npm run build`: records the git commit the build comes
 * from in dist/build-info.json, which `--version`, the status call and the
 * metrics report. Outside a git work tree (a tarball) the commit is "unknown",
 * unless CHAT_BUILD_COMMIT names it (deploy/docker/Dockerfile passes it in).
 */
import { execFileSync } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUILD_INFO_FILE } from './build-info.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

// Only this project's own repository: a package unpacked inside another repository must not take that one's commit.
const top = git(['rev-parse', '--show-toplevel']);
const head = top !== undefined && realpathSync(top) === realpathSync(REPO) ? git(['rev-parse', 'HEAD']) : undefined;
// Uncommitted changes to what is built (sources, contracts, the package) make the commit an approximation: say so.
const dirty =
  head !== undefined &&
  (git(['status', '--porcelain', '--', 'src', 'proto', 'package.json', 'package-lock.json']) ?? '') !== '';
// A build outside git (a container image) can be told its commit: CHAT_BUILD_COMMIT.
const given = process.env.CHAT_BUILD_COMMIT;
const commit =
  given !== undefined && /^[0-9a-f]{7,40}$/.test(given)
    ? given
    : head === undefined
      ? 'unknown'
      : `${head}${dirty ? '-dirty' : ''}`;
writeFileSync(BUILD_INFO_FILE, `${JSON.stringify({ commit })}\n`);
