/**
 * The watch dashboard shows learners: against in-process replicas (fake
 * configuration, test/support/local-replica.ts) through ink-testing-library,
 * with the dashboard given one address only.
 */
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../src/client/index.js';
import { RpcEventSource } from '../../src/ops/sources/rpc-events.js';
import { App } from '../../src/ops/ui/App.js';
import { freePort } from '../support/cluster.js';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';
import { waitForFrame } from './wait.js';

const SIZE = { columns: 160, rows: 20 };
const plain = (frame: string) => frame.replace(/\x1b\[[0-9;]*m/g, '');
const rowOf = (frame: string, id: string) =>
  plain(frame)
    .split('\n')
    .find((l) => l.startsWith(`*${id} `) || l.startsWith(` ${id} `));

let cluster: LocalCluster | undefined;
let client: ClusterClient | undefined;
let ui: ReturnType<typeof render> | undefined;
const servers: LocalServer[] = [];

afterEach(async () => {
  ui?.unmount();
  ui = undefined;
  client?.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  cluster?.close();
  cluster = undefined;
});

describe('chat-ops watch with a membership change under way', () => {
  it('shows the learner with its role and lag, then as a follower once promoted; a member that is down keeps its row', async () => {
    cluster = new LocalCluster(['A', 'B', 'C'], 'A');
    for (const id of ['A', 'B', 'C']) servers.push(await startLocalServer(cluster.replica(id)));
    const d = await startLocalServer(cluster.addStandby('D'));
    servers.push(d);
    client = new ClusterClient({ servers: [servers[0]!.address], deadlineMs: 1000 });
    ui = render(<App cluster={client} events={new RpcEventSource(client)} intervalMs={200} size={SIZE} />);
    await waitForFrame(ui.lastFrame, 'the three members', (f) => plain(f).includes('3/3 up'));

    cluster.learnerLag.set('D', 420);
    cluster.addLearner('D', d.address);
    const learning = await waitForFrame(
      ui.lastFrame,
      'D as a learner',
      (f) => rowOf(f, 'D')?.includes('learner') === true && plain(f).includes('4/4 up'),
    );
    expect(plain(learning)).toContain('learner D');
    expect(rowOf(learning, 'D')).toMatch(/ learner .* 420 /);
    expect(rowOf(learning, 'D')).toContain('learner: catching up, 420 behind');

    cluster.promote('D');
    const promoted = await waitForFrame(
      ui.lastFrame,
      'D promoted',
      (f) => rowOf(f, 'D')?.includes('follower') === true,
    );
    expect(plain(promoted)).not.toContain('learner D');

    // A member added at an address where nothing runs yet: it shows up, down, as a learner.
    const nowhere = `127.0.0.1:${await freePort()}`;
    cluster.addLearner('E', nowhere);
    const absent = await waitForFrame(
      ui.lastFrame,
      'E down as a learner',
      (f) => rowOf(f, 'E')?.includes('DOWN') === true,
    );
    expect(rowOf(absent, 'E')).toContain(nowhere);
    expect(rowOf(absent, 'E')).toMatch(/learner, /);
    expect(plain(absent)).toContain('4/5 up');
  });
});
