/** The cluster client against in-process replicas over real gRPC on loopback. */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.js';
import { ClusterClient, type ClusterEventView } from '../../src/client/index.js';
import { parseDetails } from '../../src/client/mapping.js';
import { freePort, waitUntil } from '../support/cluster.js';
import { LocalCluster, LOCAL_ADMIN_TOKEN, startLocalServer, type LocalServer } from '../support/local-replica.js';

let cluster: LocalCluster | undefined;
const servers: LocalServer[] = [];
const clients: ClusterClient[] = [];

function clusterClient(addresses: string[]): ClusterClient {
  const c = new ClusterClient({ servers: addresses, deadlineMs: 2_000, adminToken: LOCAL_ADMIN_TOKEN });
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

  it('given one address, one sweep asks every member the answers name, a down one included', async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    const d = `127.0.0.1:${await freePort()}`;
    cluster!.addLearner('D', d);
    const c = clusterClient([b!.address]);
    const probes = await c.statusAll();
    expect(probes.map((p) => [p.address, p.up])).toEqual([
      [b!.address, true],
      [a!.address, true],
      [d, false],
    ]);
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

describe('ClusterClient membership changes', () => {
  it('adds a replica through a follower (following the leader redirect) and learns its address from the status sweep', async () => {
    const [a] = await serve(['A', 'B'], 'B');
    const standby = cluster!.addStandby('D');
    const d = await startLocalServer(standby);
    servers.push(d);
    const c = clusterClient([a!.address]);
    // Before it is added, D runs as a learner that is not a member.
    expect(await c.status(d.address)).toMatchObject({ id: 'D', role: 'learner', members: [] });

    const added = await c.addReplica('D', d.address);
    expect(added).toMatchObject({ leaderId: 'B', epoch: cluster!.epoch, configIndex: cluster!.configIndex });
    expect(added.members.map((m) => [m.id, m.learner, m.inSync])).toEqual([
      ['A', false, true],
      ['B', false, true],
      ['D', true, false],
    ]);

    // One address given: FindLeader and the status sweep name the learner, and the next sweep asks it.
    const leader = await c.findLeader();
    expect(leader.replicas).toContainEqual({ id: 'D', address: d.address, learner: true });
    const probes = await c.statusAll();
    expect(probes.map((p) => p.address)).toEqual(c.knownAddresses());
    const probeOfD = probes.find((p) => p.address === d.address);
    expect(probeOfD).toMatchObject({ up: true, status: { id: 'D', role: 'learner' } });
    const leaderStatus = probes.find((p) => p.up && p.status.role === 'leader');
    expect(leaderStatus?.up && leaderStatus.status.peers.find((p) => p.id === 'D')).toMatchObject({ learner: true });

    cluster!.promote('D');
    expect(await c.status(d.address)).toMatchObject({
      role: 'follower',
      members: expect.arrayContaining([{ id: 'D', address: d.address, learner: false, inSync: true }]),
    });
  });

  it('removes a member, and the removed leader hands over', async () => {
    const [a, b] = await serve(['A', 'B', 'C'], 'A');
    const c = clusterClient([b!.address]);
    const removed = await c.removeReplica('A');
    expect(removed.leaderId).toBe('A');
    expect(removed.members.map((m) => m.id)).toEqual(['B', 'C']);
    expect(await c.findLeader()).toMatchObject({ leaderId: 'B', leaderAddress: b!.address });
    expect((await c.status(a!.address)).role).toBe('learner');
  });

  it("rejects refusals with the status name and the server's message", async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    const c = clusterClient([a!.address]);
    await expect(c.addReplica('B', '127.0.0.1:1')).rejects.toMatchObject({
      name: 'ChatError',
      code: 'ALREADY_EXISTS',
      message: expect.stringContaining('B is already a member'),
    });
    await expect(c.addReplica('E', b!.address)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(c.addReplica('bad id', '127.0.0.1:1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(c.removeReplica('Z')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    cluster!.membershipFaults.push({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many replicas' });
    await expect(c.addReplica('E', '127.0.0.1:2')).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      message: 'too many replicas',
    });
    expect(cluster!.member('E')).toBeUndefined();
  });

  it('takes a change whose answer was lost as made when the retry finds it made', async () => {
    const [a] = await serve(['A', 'B', 'C'], 'A');
    const c = clusterClient([a!.address]);
    cluster!.membershipFaults.push({ code: grpc.status.UNAVAILABLE, details: 'connection dropped', applied: true });
    const added = await c.addReplica('D', '127.0.0.1:7004');
    expect(added.configIndex).toBeUndefined();
    expect(added.members).toContainEqual({ id: 'D', address: '127.0.0.1:7004', learner: true, inSync: false });
    cluster!.membershipFaults.push({ code: grpc.status.UNAVAILABLE, details: 'connection dropped', applied: true });
    const removed = await c.removeReplica('D');
    expect(removed.members.map((m) => m.id)).toEqual(['A', 'B', 'C']);
    // A refusal that is not about a lost answer stays a refusal.
    await expect(c.removeReplica('D')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('pieces', () => {
  it('parses event details, and anything but a JSON object is {}', () => {
    expect(parseDetails('{"a":1,"b":[2]}')).toEqual({ a: 1, b: [2] });
    for (const bad of ['', 'not json', '[1,2]', 'null', '"text"', '{"unterminated":'])
      expect(parseDetails(bad)).toEqual({});
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
