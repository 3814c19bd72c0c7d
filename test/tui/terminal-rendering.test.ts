import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROBE = fileURLToPath(new URL('./fixtures/render-probe.mjs', import.meta.url));

interface ProbeResult {
  measures: number;
  ci: string | null;
  nodeEnv: string | null;
}

function probe(prepared: boolean): ProbeResult {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.NODE_ENV;
  const out = execFileSync(process.execPath, [PROBE, ...(prepared ? ['prepared'] : [])], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ProbeResult;
}

describe('rendering set-up of the full-screen programs', () => {
  it('keeps nothing per render and renders live even when the shell exports CI', () => {
    // The control: loaded as is, React's development build records each render as a performance
    // measure that Node keeps (an open dashboard grew by ~1.3 MB a second).
    expect(probe(false).measures).toBeGreaterThan(0);
    expect(probe(true)).toEqual({ measures: 0, ci: null, nodeEnv: 'production' });
  });
});
