/**
 * The watch dashboard against a real three-replica cluster (built server:
 * `npm run build`), through ink-testing-library.
 */
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../src/client/index.js';
import { LogFileEventSource } from '../../src/ops/sources/log-files.js';
import { RpcEventSource } from '../../src/ops/sources/rpc-events.js';
import { App } from '../../src/ops/ui/App.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { waitForFrame } from './wait.js';

const SIZE = { columns: 100, rows: 30 };
const ESC = '\x1b';
const END = `${ESC}[F`;

const plain = (frame: string) => frame.replace(/\x1b\[[0-9;]*m/g, '');
const lines = (frame: string) => plain(frame).split('\n');
/** The table row of replica `id`: it starts with the leader mark or a space, then the id. */
const rowOf = (frame: string, id: string) =>
  lines(frame).find((l) => l.startsWith(`*${id} `) || l.startsWith(` ${id} `));
/** Timeline lines: they start with a clock. */
const timeline = (frame: string) => lines(frame).filter((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l));
const tick = () => new Promise((r) => setImmediate(r));

let cluster: TestCluster;
let client: ClusterClient;
let ui: ReturnType<typeof render> | undefined;

beforeAll(async () => {
  cluster = await startCluster();
  client = new ClusterClient({ servers: cluster.addresses, deadlineMs: 1500 });
});

afterEach(() => {
  ui?.unmount();
  ui = undefined;
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

describe('chat-ops watch', () => {
  it('shows every replica with the leader marked, and the election in the timeline', async () => {
    const leader = await cluster.waitForLeader();
    ui = render(<App cluster={client} events={new RpcEventSource(client)} intervalMs={300} size={SIZE} />);
    const frame = await waitForFrame(
      ui.lastFrame,
      'three replicas up and the election event',
      (f) =>
        plain(f).includes('3/3 up') &&
        plain(f).includes(`leader ${leader} epoch`) &&
        timeline(f).some((l) => l.includes('election.won')),
    );
    expect(rowOf(frame, leader)).toContain('leader');
    for (const id of cluster.ids.filter((id) => id !== leader)) expect(rowOf(frame, id)).toContain('follower');
    expect(lines(frame).length).toBeLessThan(SIZE.rows);
    for (const l of lines(frame)) expect(l.length).toBeLessThanOrEqual(SIZE.columns);
  });

  it('answers its keys: help, pause and live, replica and kind filters, typed filter, clear', async () => {
    const leader = await cluster.waitForLeader();
    ui = render(<App cluster={client} events={new RpcEventSource(client)} intervalMs={300} size={SIZE} />);
    await waitForFrame(ui.lastFrame, 'events from every replica', (f) =>
      cluster.ids.every((id) => timeline(f).some((l) => l.slice(13).startsWith(`${id} `))),
    );
    await tick();

    ui.stdin.write('?');
    await waitForFrame(
      ui.lastFrame,
      'the help overlay',
      (f) => plain(f).includes('cycle the replica filter') && plain(f).includes('PgUp, PgDn'),
    );
    ui.stdin.write('?');
    await waitForFrame(
      ui.lastFrame,
      'the help to close',
      (f) => !plain(f).includes('cycle the replica filter') && timeline(f).length > 0,
    );

    ui.stdin.write(' ');
    await waitForFrame(ui.lastFrame, 'the timeline to pause', (f) => plain(f).includes('PAUSED'));
    ui.stdin.write(END);
    await waitForFrame(ui.lastFrame, 'live again', (f) => plain(f).includes('LIVE') && !plain(f).includes('PAUSED'));

    ui.stdin.write('r');
    const first = cluster.ids[0]!;
    const byReplica = await waitForFrame(ui.lastFrame, `only replica ${first}`, (f) =>
      plain(f).includes(`filter r:${first}`),
    );
    expect(timeline(byReplica).length).toBeGreaterThan(0);
    for (const l of timeline(byReplica)) expect(l.slice(13).startsWith(`${first} `)).toBe(true);

    ui.stdin.write('c');
    ui.stdin.write('k');
    const byKind = await waitForFrame(ui.lastFrame, 'only elections', (f) => plain(f).includes('filter k:election'));
    for (const l of timeline(byKind)) expect(l).toMatch(/ election\./);

    ui.stdin.write('c');
    await waitForFrame(ui.lastFrame, 'filters cleared', (f) => !/ filter (r:|k:|\/)/.test(plain(f)));
    ui.stdin.write('/');
    await waitForFrame(ui.lastFrame, 'the filter prompt', (f) => plain(f).includes('filter>'));
    ui.stdin.write(`k:election.won r:${leader}`);
    await waitForFrame(ui.lastFrame, 'the typed filter', (f) =>
      plain(f).includes(`filter> k:election.won r:${leader}`),
    );
    ui.stdin.write('\r');
    const typed = await waitForFrame(ui.lastFrame, 'the typed filter applied', (f) =>
      plain(f).includes(`filter /k:election.won r:${leader}`),
    );
    expect(timeline(typed).length).toBeGreaterThan(0);
    for (const l of timeline(typed)) expect(l).toMatch(new RegExp(`^\\S+ ${leader} +e\\d+ +election\\.won `));
  });

  it('shows a killed leader as down, and the election that replaces it', async () => {
    const oldLeader = await cluster.waitForLeader();
    ui = render(<App cluster={client} events={new RpcEventSource(client)} intervalMs={300} size={SIZE} />);
    const before = await waitForFrame(ui.lastFrame, 'the leader', (f) => rowOf(f, oldLeader)?.startsWith('*') === true);
    const oldEpoch = Number(/leader \w+ epoch (\d+)/.exec(plain(before))![1]);
    await tick();
    ui.stdin.write('/');
    ui.stdin.write('k:election.won');
    ui.stdin.write('\r');
    await waitForFrame(ui.lastFrame, 'the election filter', (f) => plain(f).includes('filter /k:election.won'));

    await cluster.kill(oldLeader);
    const after = await waitForFrame(
      ui.lastFrame,
      'the old leader down and a new one elected',
      (f) => {
        const m = /leader (\w+) epoch (\d+)/.exec(plain(f));
        return (
          rowOf(f, oldLeader)?.includes('DOWN') === true && m !== null && m[1] !== oldLeader && Number(m[2]) > oldEpoch
        );
      },
      20_000,
    );
    const [, newLeader, newEpoch] = /leader (\w+) epoch (\d+)/.exec(plain(after))!;
    expect(plain(after)).toContain('2/3 up');
    expect(rowOf(after, newLeader!)?.startsWith('*')).toBe(true);
    await waitForFrame(ui.lastFrame, 'the new election in the timeline', (f) =>
      timeline(f).some((l) => new RegExp(`^\\S+ ${newLeader} +e${newEpoch} +election\\.won `).test(l)),
    );
  });

  it("tails the replicas' log files instead of the event streams", async () => {
    const source = new LogFileEventSource(
      cluster.ids.map((id) => cluster.logFile(id)),
      { pollMs: 200 },
    );
    ui = render(<App cluster={client} events={source} intervalMs={300} size={SIZE} />);
    const frame = await waitForFrame(
      ui.lastFrame,
      'events from the log files',
      (f) => plain(f).includes('log files 3/3') && timeline(f).some((l) => l.includes('election.won')),
    );
    expect(plain(frame)).toContain('log files');
  });
});
