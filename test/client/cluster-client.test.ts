/** The cluster client against in-process replicas over real gRPC on loopback. */
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.js';
import { ClusterClient, type ClusterEventView } from '../../src/client/index.js';
import { parseDetails } from '../../src/client/mapping.js';
import { freePort, waitUntil } from '../support/cluster.js';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';

let cluster: LocalCluster | undefined;
const servers: LocalServer[] = [];
const clients: ClusterClient[] = [];

function clusterClient(addresses: string[]): ClusterClient {
  const c = new ClusterClient({ servers: addresses, deadlineMs: 2_000 });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  cluster?.close();
  cluster = undefined;
});

async function serve(ids: string[], leader: string): Promise<LocalServer[]> {
  cluster = new LocalCluster(ids, leader);
  const started = [];
  for (const id of ids) started.push(await startLocalServer(cluster.replica(id)));
  servers.push(...started);
  return started;
}

describe('ClusterClient', () => {
  it('sweeps every replica in order and reports an unreachable one as down instead of failing', async () => {
    const [a, b] = await serve(['A', 'B'], 'B');
    const down = `127.0.0.1:${await freePort()}`;
    const c = clusterClient([a!.address, down, b!.address]);
    const probes = await c.statusAll();
    expect(probes.map((p) => p.address)).toEqual([a!.address, down, b!.address]);
    expect(probes[0]).toMatchObject({ up: true, status: { id: 'A', role: 'follower', leaderId: 'B' } });
    expect(probes[1]!.up).toBe(false);
    expect(probes[1]!.up === false && probes[1]!.error).toMatch(/UNAVAILABLE/);
    expect(probes[2]).toMatchObject({ up: true, status: { id: 'B', role: 'leader', epoch: cluster!.epoch } });
  });

  it('finds the leader with the highest epoch and learns the members', async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    cluster!.setLeader('B');
    const c = clusterClient([a!.address]);
    const leader = await c.findLeader();
    expect(leader).toMatchObject({ leaderId: 'B', leaderAddress: b!.address, epoch: cluster!.epoch });
    expect(c.knownAddresses()).toEqual([a!.address, b!.address]);
  });

  it('reads digests and forces a leader', async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    const c = clusterClient([a!.address, b!.address]);
    const [da, db] = await Promise.all([c.stateDigest(a!.address), c.stateDigest(b!.address)]);
    expect(da).toEqual(db);
    const forced = await c.forceLeader(b!.address);
    expect(forced.epoch).toBe(cluster!.epoch);
    expect((await c.status(b!.address)).role).toBe('leader');
  });

  it('watches events across a restart of the replica, resuming after the last one seen', async () => {
    cluster = new LocalCluster(['A'], 'A');
    const port = await freePort();
    let server = await startLocalServer(cluster.replica('A'), { port });
    servers.push(server);
    const c = clusterClient([server.address]);
    const seen: ClusterEventView[] = [];
    const states: boolean[] = [];
    const watch = c.watchEvents(server.address, { onEvent: (e) => seen.push(e), onState: (up) => states.push(up) });
    cluster.emitEvent('isr.shrink', 'B left the in-sync set', { removed: 'B' });
    await waitUntil('two events', 5_000, () => seen.length >= 2);

    server.kill();
    servers.splice(servers.indexOf(server), 1);
    await waitUntil('the watch to notice', 5_000, () => states.includes(false));
    cluster.emitEvent('catchup.done', 'B caught up', { peer: 'B' });
    server = await startLocalServer(cluster.replica('A'), { port });
    servers.push(server);
    await waitUntil('the event emitted while down', 8_000, () => seen.length >= 3);
    cluster.emitEvent('isr.grow', 'B is back in sync', { added: 'B' });
    await waitUntil('a live event after the restart', 5_000, () => seen.length >= 4);
    await new Promise((r) => setTimeout(r, 50));

    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(seen.map((e) => e.kind)).toEqual(['election.won', 'isr.shrink', 'catchup.done', 'isr.grow']);
    expect(seen[1]!.details).toEqual({ removed: 'B' });
    expect(states.at(-1)).toBe(true);
    watch.close();
  });

  it('rejects a status call to a replica that does not answer, with UNAVAILABLE', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const c = clusterClient([down]);
    await expect(c.status(down)).rejects.toMatchObject({ name: 'ChatError', code: 'UNAVAILABLE' });
    await expect(c.findLeader()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('pieces', () => {
  it('parses event details, and anything but a JSON object is {}', () => {
    expect(parseDetails('{"a":1,"b":[2]}')).toEqual({ a: 1, b: [2] });
    for (const bad of ['', 'not json', '[1,2]', 'null', '"text"', '{"unterminated":']) expect(parseDetails(bad)).toEqual({});
  });

  it('backs off exponentially with jitter, capped', () => {
    let r = 0;
    const backoff = new Backoff({ initialMs: 25, maxMs: 500, factor: 2 }, () => r);
    const lows = Array.from({ length: 8 }, () => backoff.next());
    expect(lows).toEqual([13, 25, 50, 100, 200, 250, 250, 250]);
    r = 0.999999;
    backoff.reset();
    const highs = Array.from({ length: 7 }, () => backoff.next());
    expect(highs).toEqual([25, 50, 100, 200, 400, 500, 500]);
  });
});
