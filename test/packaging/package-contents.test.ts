/** What `npm pack` ships: the built programs, their contracts, deploy/ and the docs; no tests, benchmarks or CI. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface PackEntry {
  files: { path: string }[];
}
interface PackageJson {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

describe('the npm package', () => {
  it('holds the three programs, LICENSE and deploy/, and none of test/, bench/, .ci or source maps', () => {
    // --ignore-scripts: list the files without rebuilding dist/ (prepack does that for a real pack).
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const paths = (JSON.parse(out) as PackEntry[])[0]!.files.map((f) => f.path);
    for (const main of Object.values(pkg.bin)) expect(paths).toContain(main);
    expect(paths).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'dist/build-info.json',
        'deploy/systemd/chat-server@.service',
        'deploy/docker/Dockerfile',
        'deploy/docker/compose.yaml',
      ]),
    );
    expect(paths.filter((p) => /^(test|bench|\.ci|src|node_modules)\//.test(p) || p.endsWith('.map'))).toEqual([]);
  });

  it('lists every package the built programs import as a runtime dependency, and no other', () => {
    const imported = new Set<string>();
    for (const file of readdirSync('dist', { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.js')) continue;
      for (const m of readFileSync(join('dist', file), 'utf8').matchAll(
        /^(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"];$|^import\s+['"]([^'"]+)['"];$|\bimport\(['"]([^'"]+)['"]\)/gm,
      )) {
        const spec = (m[1] ?? m[2] ?? m[3])!;
        if (spec.startsWith('.')) continue;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        imported.add(
          spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/'),
        );
      }
    }
    expect([...imported].sort()).toEqual(Object.keys(pkg.dependencies).sort());
    // pino-pretty is for reading logs in a clone (README), not something the programs load.
    expect(Object.keys(pkg.devDependencies)).toContain('pino-pretty');
  });
});
