import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { useEffect, useState } from 'react';
import { describe, expect, it } from 'vitest';
import { KeyRouter, useKeys } from '../../src/tui/keys.js';
import { tick, waitFor } from './support.js';

/** A list whose letters are commands (`n` opens a text field) and the text field it opens. */
function Field({ onDone }: { onDone(text: string): void }) {
  const [text, setText] = useState('');
  useKeys(({ input, key }) => {
    if (key.return) onDone(text);
    else if (input) setText((t) => t + input);
  });
  return <Text>field [{text}]</Text>;
}

/** Passive effects that take a while, as on a busy machine: React's scheduler runs them first and then yields before rendering. */
function SlowEffects({ ms, dep }: { ms: number; dep: unknown }) {
  useEffect(() => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy
    }
  }, [ms, dep]);
  return null;
}

function Commands({ slowEffectsMs = 0 }: { slowEffectsMs?: number }) {
  const [log, setLog] = useState<string[]>([]);
  const [field, setField] = useState(false);
  useKeys(
    ({ input }) => {
      if (input === 'n') setField(true);
      else setLog((l) => [...l, input]);
    },
    { singleKeys: true },
  );
  return (
    <>
      <Text>log [{log.join(',')}]</Text>
      {slowEffectsMs > 0 ? <SlowEffects ms={slowEffectsMs} dep={log} /> : null}
      {field ? (
        <Field
          onDone={(text) => {
            setField(false);
            setLog((l) => [...l, `sent:${text}`]);
          }}
        />
      ) : null}
    </>
  );
}

describe('key router', () => {
  it('hands keys typed in one burst to whatever the key before opened', async () => {
    const app = render(
      <KeyRouter>
        <Commands />
      </KeyRouter>,
    );
    await tick(10);
    // Commands, then a command that opens a field, its text and Enter, then commands again: all in one chunk.
    app.stdin.write('abnhello there\rcd');
    await waitFor(() => (app.lastFrame() ?? '').includes('log [a,b,sent:hello there,c,d]'), 2000, () => app.lastFrame() ?? '');
    expect(app.lastFrame()).not.toContain('field [');
    app.unmount();
  });

  it('waits for what a key opened even when React is slow to render it', async () => {
    const app = render(
      <KeyRouter>
        <Commands slowEffectsMs={15} />
      </KeyRouter>,
    );
    await tick(10);
    app.stdin.write('abnhello there\rcd');
    await waitFor(() => (app.lastFrame() ?? '').includes('log [a,b,sent:hello there,c,d]'), 5000, () => app.lastFrame() ?? '');
    expect(app.lastFrame()).not.toContain('field [');
    app.unmount();
  });
});
