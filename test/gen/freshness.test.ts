/**
 * src/gen must be exactly what `npm run gen` makes from proto/: regenerate into
 * a scratch copy of the project and compare file by file.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'gen-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('generated code', () => {
  it('src/gen matches what buf and ts-proto make from proto/', () => {
    cpSync(join(root, 'proto'), join(scratch, 'proto'), { recursive: true });
    cpSync(join(root, 'buf.yaml'), join(scratch, 'buf.yaml'));
    cpSync(join(root, 'buf.gen.yaml'), join(scratch, 'buf.gen.yaml'));
    symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
    execFileSync(join(root, 'node_modules/.bin/buf'), ['generate'], { cwd: scratch, stdio: 'pipe', timeout: 60_000 });
    const fresh = join(scratch, 'src/gen');
    const committed = join(root, 'src/gen');
    expect(files(committed), 'the set of generated files differs: run npm run gen').toEqual(files(fresh));
    for (const f of files(fresh)) {
      expect(readFileSync(join(committed, f), 'utf8'), `${f} is stale: run npm run gen`).toBe(
        readFileSync(join(fresh, f), 'utf8'),
      );
    }
  });
});
