/** NO_COLOR: chat-tui and chat-ops watch draw without colours, and keep bold, dim and inverse (cursor, selection, leader). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeaderView, ReplicaProbe } from '../../src/client/api.js';
import { colorsWanted, Text } from '../../src/terminal/colors.js';
import { ClusterPanel } from '../../src/tui/components/ClusterPanel.js';
import { statusView } from '../ops/fixtures.js';

/** SGR parameters that set a foreground or background colour (30-49, 90-107). */
const COLOUR = /\x1b\[(?:3\d|4\d|9[0-7]|10[0-7])(?:;\d+)*m/;
const BOLD = '\x1b[1m';
const INVERSE = '\x1b[7m';

// Before Ink (chalk) loads: its output here is no terminal, and without colours there would be nothing to leave out.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

const saved = process.env.NO_COLOR;
afterEach(() => {
  if (saved === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = saved;
});

function frame(node: React.ReactElement): string {
  const { lastFrame, unmount } = render(node);
  const out = lastFrame() ?? '';
  unmount();
  return out;
}

const probes: ReplicaProbe[] = [
  { address: '10.0.0.1:50051', up: true, status: statusView({ id: 'A', role: 'leader', epoch: 4 }), rttMs: 1 },
];
const view: LeaderView = {
  leaderId: 'A',
  leaderAddress: '10.0.0.1:50051',
  epoch: 4,
  replicas: [{ id: 'A', address: '10.0.0.1:50051', learner: false }],
};
const panel = (
  <ClusterPanel snapshot={{ probes, leader: view, knownIds: new Map(), at: 1000 }} width={80} height={4} now={2000} />
);

describe('NO_COLOR', () => {
  it('is set when present and not empty', () => {
    expect(colorsWanted({})).toBe(true);
    expect(colorsWanted({ NO_COLOR: '' })).toBe(true);
    expect(colorsWanted({ NO_COLOR: '1' })).toBe(false);
  });

  it('leaves colours out and keeps bold and inverse', () => {
    delete process.env.NO_COLOR;
    expect(
      frame(
        <Text color="red" inverse>
          x
        </Text>,
      ),
    ).toMatch(COLOUR);
    expect(frame(panel)).toMatch(COLOUR);
    process.env.NO_COLOR = '1';
    const text = frame(
      <Text color="red" backgroundColor="blue" inverse>
        x
      </Text>,
    );
    expect(text).not.toMatch(COLOUR);
    expect(text).toContain(INVERSE);
    const drawn = frame(panel);
    expect(drawn).not.toMatch(COLOUR);
    expect(drawn).toContain(BOLD);
    expect(drawn).toContain('leader A');
  });

  it('cannot be bypassed: the Ink programs draw text only through the NO_COLOR-aware Text, and write no colour escapes by hand', () => {
    const files = ['src/tui', 'src/ops', 'src/terminal'].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.tsx?$/.test(f))
        .map((f) => join(dir, f)),
    );
    const offenders = files
      .filter((f) => f !== join('src/terminal', 'colors.tsx'))
      .filter((f) => {
        const src = readFileSync(f, 'utf8');
        return (
          /import \{[^}]*\bText\b[^}]*\} from 'ink'/.test(src) ||
          /\\x1b\[(?:3\d|4\d|9[0-7]|10[0-7])(?:;\d+)*m|\\u001b\[(?:3\d|4\d)/.test(src) ||
          /borderColor=\{(?!colorOrNone)/.test(src)
        );
      });
    expect(offenders).toEqual([]);
  });
});
