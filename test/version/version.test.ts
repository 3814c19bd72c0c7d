/**
 * `--version` of the three built programs: the package version, the commit
 * the build was made from (recorded by the build step), and what each speaks;
 * and the build step's fallback outside git.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireBuilt, runProgram } from '../support/run-program.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

function gitHead(): string {
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
}

describe('--version', () => {
  for (const [program, main, speaks] of [
    [
      'chat-server',
      'server/main.js',
      [/^peer protocol \d+$/m, /^database schema \d+$/m, /^client protocol chat\.v1$/m],
    ],
    ['chat-ops', 'ops/main.js', [/^client protocol chat\.v1$/m]],
    ['chat-tui', 'tui/main.js', [/^client protocol chat\.v1$/m]],
  ] as const) {
    it(`${program} prints its version, the commit it was built from, and what it speaks`, async () => {
      requireBuilt(join(DIST, main));
      const run = await runProgram(join(DIST, main), ['--version']);
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines[0]).toBe(`${program} ${pkg.version}`);
      // This suite runs in the repository the build was made from.
      expect(lines[1]).toMatch(new RegExp(`^commit ${gitHead()}(-dirty)?$`));
      for (const line of speaks) expect(run.stdout).toMatch(line);
    });
  }

  it('the build step records "unknown" as the commit outside a git work tree', () => {
    requireBuilt(join(DIST, 'version/record-build.js'));
    const root = mkdtempSync(join(tmpdir(), 'chat-build-info-'));
    try {
      mkdirSync(join(root, 'dist/version'), { recursive: true });
      for (const file of ['build-info.js', 'record-build.js'])
        copyFileSync(join(DIST, 'version', file), join(root, 'dist/version', file));
      copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
      execFileSync(process.execPath, [join(root, 'dist/version/record-build.js')], {
        env: { ...process.env, GIT_CEILING_DIRECTORIES: tmpdir() },
      });
      expect(JSON.parse(readFileSync(join(root, 'dist/build-info.json'), 'utf8'))).toEqual({ commit: 'unknown' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
