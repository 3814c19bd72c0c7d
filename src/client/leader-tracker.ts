/**
 * Where the leader is: the addresses this client knows (configured plus
 * learned), the leader it currently sends to, and the search for a new one
 * (every known replica asked in parallel; the answer with the highest epoch
 * that names a leader wins).
 */
import * as grpc from '@grpc/grpc-js';
import type { FindLeaderResponse, ReplicaStatus } from '../gen/chat/v1/cluster.js';
import type { LeaderView } from './api.js';
import type { ChannelPool } from './channels.js';
import { describeError } from './errors.js';
import { toLeaderView } from './mapping.js';
import { deadlineIn, unary } from './rpc.js';

export interface LeaderTarget {
  id: string;
  address: string;
  epoch: number;
}

export type FindOutcome =
  /** `leaderAnswered`: the leader itself answered this search (so it is up). */
  | { kind: 'leader'; leader: LeaderTarget; view: LeaderView; leaderAnswered: boolean }
  /** Some replicas answered but none names a leader. */
  | { kind: 'no-leader'; waitingFor: string[]; view: LeaderView }
  /** No replica answered. */
  | { kind: 'unreachable'; error: string };

export class LeaderTracker {
  private readonly known: string[] = [];
  private current: LeaderTarget | undefined;
  private inflight: Promise<FindOutcome> | undefined;

  constructor(
    servers: readonly string[],
    private readonly pool: ChannelPool,
    /** Deadline of each FindLeader / GetStatus probe. */
    private readonly probeDeadlineMs: number,
  ) {
    for (const s of servers) this.learn(s);
    if (this.known.length === 0) throw new Error('no server addresses given');
  }

  addresses(): string[] {
    return [...this.known];
  }

  learn(address: string): void {
    const a = address.trim();
    if (a !== '' && !this.known.includes(a)) this.known.push(a);
  }

  leader(): LeaderTarget | undefined {
    return this.current;
  }

  /** A replica named the leader in a refusal: go there next. */
  redirect(hint: { id: string; address: string }): LeaderTarget {
    this.learn(hint.address);
    const epoch = this.current?.epoch ?? 0;
    this.current = { id: hint.id, address: hint.address, epoch };
    return this.current;
  }

  /** The leader at `address` failed us; find again before the next attempt. */
  forget(address: string): void {
    if (this.current?.address === address) this.current = undefined;
  }

  /** Asks every known replica where the leader is (one search at a time; concurrent callers share it). */
  find(): Promise<FindOutcome> {
    this.inflight ??= this.search().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async ask(address: string): Promise<FindLeaderResponse> {
    const client = this.pool.cluster(address);
    return unary<FindLeaderResponse>((cb) =>
      client.findLeader({}, new grpc.Metadata(), { deadline: deadlineIn(this.probeDeadlineMs) }, cb),
    );
  }

  private async status(address: string): Promise<ReplicaStatus> {
    const client = this.pool.cluster(address);
    return unary<ReplicaStatus>((cb) =>
      client.getStatus({}, new grpc.Metadata(), { deadline: deadlineIn(this.probeDeadlineMs) }, cb),
    );
  }

  private async search(): Promise<FindOutcome> {
    const addresses = this.addresses();
    const answers = await Promise.all(
      addresses.map((address) =>
        this.ask(address).then(
          (response) => ({ address, response, error: undefined }),
          (error: unknown) => ({ address, response: undefined, error }),
        ),
      ),
    );
    let best: FindLeaderResponse | undefined;
    for (const a of answers) {
      const r = a.response;
      if (!r || r.leaderId === '' || r.leaderAddress === '') continue;
      if (!best || r.epoch > best.epoch) best = r;
    }
    if (best) {
      for (const r of best.replicas) this.learn(r.address);
      this.learn(best.leaderAddress);
      this.current = { id: best.leaderId, address: best.leaderAddress, epoch: best.epoch };
      const leaderAddress = best.leaderAddress;
      const leaderAnswered = answers.some((a) => a.address === leaderAddress && a.response !== undefined);
      return { kind: 'leader', leader: this.current, view: toLeaderView(best), leaderAnswered };
    }
    this.current = undefined;
    const reachable = answers.filter((a) => a.response !== undefined);
    if (reachable.length === 0) {
      const first = answers.find((a) => a.error !== undefined);
      return {
        kind: 'unreachable',
        error: first ? `${first.address}: ${describeError(first.error)}` : 'no replica answered',
      };
    }
    for (const a of reachable) for (const r of a.response!.replicas) this.learn(r.address);
    // Nobody leads: ask the reachable replicas whom they wait for.
    const statuses = await Promise.all(reachable.map((a) => this.status(a.address).catch(() => undefined)));
    const waitingFor = [...new Set(statuses.flatMap((s) => s?.waitingFor ?? []))].sort();
    const newest = reachable.reduce((x, y) => (y.response!.epoch > x.response!.epoch ? y : x));
    return { kind: 'no-leader', waitingFor, view: toLeaderView(newest.response!) };
  }
}
