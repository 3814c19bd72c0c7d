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
    await waitFor(
      () => (app.lastFrame() ?? '').includes('log [a,b,sent:hello there,c,d]'),
      2000,
      () => app.lastFrame() ?? '',
    );
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
    await waitFor(
      () => (app.lastFrame() ?? '').includes('log [a,b,sent:hello there,c,d]'),
      5000,
      () => app.lastFrame() ?? '',
    );
    expect(app.lastFrame()).not.toContain('field [');
    app.unmount();
  });
});

/** Records every press it gets, as `paste:<text>`, `<enter>`, `<C-x>` or the text. */
function Recorder({ multiline = false }: { multiline?: boolean }) {
  const [log, setLog] = useState<string[]>([]);
  useKeys(
    ({ input, key, paste }) =>
      setLog((l) => [
        ...l,
        paste
          ? `paste:${input.replace(/\r|\n/g, '/')}`
          : key.return
            ? `<enter${key.shift ? '+shift' : ''}>`
            : key.ctrl
              ? `<C-${input}>`
              : input,
      ]),
    { multiline },
  );
  return <Text>log [{log.join(',')}]</Text>;
}

describe('pastes', () => {
  it('takes a bracketed paste as one press, also when it comes in several chunks, and lets Ctrl-C end one that never ends', async () => {
    const app = render(
      <KeyRouter>
        <Recorder />
      </KeyRouter>,
    );
    await tick(10);
    app.stdin.write('\x1B[200~first\rsec');
    app.stdin.write('ond\x1B[201~');
    app.stdin.write('\x1B[27;2;13~');
    app.stdin.write('\n');
    app.stdin.write('\x1B[200~never ends');
    app.stdin.write('\x03');
    await waitFor(
      () => (app.lastFrame() ?? '').includes('log [paste:first/second,<enter+shift>,<C-j>,<C-c>]'),
      2000,
      () => app.lastFrame() ?? '',
    );
    app.unmount();
  });

  it('takes text with a line break inside one chunk as a paste only in a field of several lines', async () => {
    for (const [multiline, expected] of [
      [true, 'log [paste:one/two]'],
      [false, 'log [one,<enter>,two]'],
    ] as const) {
      const app = render(
        <KeyRouter>
          <Recorder multiline={multiline} />
        </KeyRouter>,
      );
      await tick(10);
      app.stdin.write('one\rtwo');
      await waitFor(
        () => (app.lastFrame() ?? '').includes(expected),
        2000,
        () => app.lastFrame() ?? '',
      );
      app.unmount();
    }
  });
});
