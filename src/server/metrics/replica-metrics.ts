/**
 * A replica's Prometheus metrics (prom-client): Node's default metrics (event
 * loop lag included), the replica's status read at each scrape (role, epoch,
 * log positions, in-sync set, per-peer lag, clients), counters fed by its
 * events (leader changes, elections, in-sync changes, snapshot transfers) and
 * applied ops, histograms of the write path fed as it happens (each log sync's
 * seconds and entries, each op's seconds from proposal to answer:
 * histogram_quantile() gives their percentiles), and totals read from the
 * driver's stats at each scrape (bytes written, apply batches). Every name is
 * listed in docs/operations.md; deploy/ holds alerts and a dashboard on them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaEvent } from '../replica/events.js';
import type { DriverStats } from '../replica/driver.js';
import type { ReplicaStatusView } from '../replica/handle.js';
import type { PeerBuild } from '../peer-versions.js';

/** What the metrics read from a running replica at scrape time and subscribe to. */
export interface MetricSources {
  status(): ReplicaStatusView;
  /** The driver's write-path totals (ReplicaDriver.stats()). */
  driverStats(): DriverStats;
  clients(): { connectedClients: number; openStreams: number };
  peerBuilds(): [string, PeerBuild][];
  subscribeEvents(listener: (e: ReplicaEvent) => void): () => void;
  onApplied(listener: () => void): () => void;
}

export interface ReplicaIdentity {
  replica: string;
  cluster: string;
  mode: string;
  version: string;
  commit: string;
  protocol: number;
  schema: number;
}

const ROLES = ['leader', 'follower', 'candidate', 'learner'] as const;

/** Seconds of a log write with its fsync: from a fast SSD's half a millisecond to a disk in trouble. */
const SYNC_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Seconds from an op's proposal to its answer: a round trip and an fsync or two, up to a leader that cannot commit. */
const COMMIT_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Entries per log sync: a vote alone (0) or one op, up to the thousands a burst of clients queues during one fsync. */
const SYNC_ENTRIES_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** `read`, called at most once per 50 ms: one scrape reads it once however many metrics use it. */
function readOncePerScrape<T>(read: () => T): () => T {
  let at = -1;
  let cached: T | undefined;
  return () => {
    const now = Date.now();
    if (cached === undefined || now - at > 50) {
      cached = read();
      at = now;
    }
    return cached;
  };
}

export class ReplicaMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<'kind'>;
  private readonly leaderChanges: Counter;
  private readonly elections: Counter<'result'>;
  private readonly isrChanges: Counter<'change'>;
  private readonly snapshots: Counter<'direction' | 'result'>;
  private readonly snapshotBytes: Counter<'direction'>;
  private readonly quarantined: Counter;
  private readonly transfers: Counter<'result'>;
  private readonly applied: Counter;
  private unsubscribe: (() => void)[] = [];
  /** For the log (SegmentedLog's observeSync): one durable group of writes, its seconds and its entries. */
  readonly observeSync: (seconds: number, entries: number) => void;
  /** For the driver (observeCommit): one op answered on this replica as leader, seconds after its proposal. */
  readonly observeCommit: (seconds: number) => void;

  constructor(identity: ReplicaIdentity) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    const info = new Gauge({
      name: 'chat_build_info',
      help: 'This replica and its build: always 1, the facts are in the labels',
      labelNames: ['replica', 'cluster', 'mode', 'version', 'commit', 'protocol', 'schema'],
      registers: [registry],
    });
    info.set({ ...identity, protocol: String(identity.protocol), schema: String(identity.schema) }, 1);

    this.applied = new Counter({
      name: 'chat_ops_applied_total',
      help: 'Ops applied to the chat state (every replica applies every committed op)',
      registers: [registry],
    });
    this.events = new Counter({
      name: 'chat_replica_events_total',
      help: 'Replication events by kind (see the README for the kinds)',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.leaderChanges = new Counter({
      name: 'chat_leader_changes_total',
      help: 'Times this replica saw the leader change (it won an election or follows a new leader)',
      registers: [registry],
    });
    this.elections = new Counter({
      name: 'chat_elections_total',
      help: 'Elections of this replica: campaigns started, won, lost (pre-votes included)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.isrChanges = new Counter({
      name: 'chat_isr_changes_total',
      help: 'In-sync set changes made by this replica as leader',
      labelNames: ['change'],
      registers: [registry],
    });
    this.snapshots = new Counter({
      name: 'chat_snapshot_transfers_total',
      help: 'Snapshots sent to followers and installed from a leader',
      labelNames: ['direction', 'result'],
      registers: [registry],
    });
    this.snapshotBytes = new Counter({
      name: 'chat_snapshot_bytes_total',
      help: 'Bytes of snapshots sent',
      labelNames: ['direction'],
      registers: [registry],
    });
    this.quarantined = new Counter({
      name: 'chat_log_quarantined_entries_total',
      help: 'Divergent uncommitted log entries this replica moved to quarantine',
      registers: [registry],
    });
    this.transfers = new Counter({
      name: 'chat_leadership_transfers_total',
      help: 'Leadership transfers this replica started as leader, by outcome',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of ['started', 'won', 'lost']) this.elections.inc({ result }, 0);
    for (const change of ['shrink', 'expand']) this.isrChanges.inc({ change }, 0);
    for (const [direction, result] of [
      ['sent', 'ok'],
      ['sent', 'failed'],
      ['received', 'ok'],
    ] as const)
      this.snapshots.inc({ direction, result }, 0);
    for (const result of ['done', 'failed']) this.transfers.inc({ result }, 0);

    // Fed from the write path as it happens (an observation costs prom-client about 0.4 µs).
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, registers: [registry] });
    const syncSeconds = histogram(
      'chat_log_sync_seconds',
      "Seconds from starting a log write (a group of queued writes) to its fsync's end, one observation per group",
      SYNC_SECONDS_BUCKETS,
    );
    const syncEntries = histogram(
      'chat_log_sync_entries',
      "Log entries each of those groups carried (0: only the hard state, a vote): the group commit's batch size",
      SYNC_ENTRIES_BUCKETS,
    );
    const commitSeconds = histogram(
      'chat_commit_seconds',
      "Seconds from an op's proposal on this replica as leader to its answer (committed and applied), one observation per op",
      COMMIT_SECONDS_BUCKETS,
    );
    this.observeSync = (seconds, entries) => {
      syncSeconds.observe(seconds);
      syncEntries.observe(entries);
    };
    this.observeCommit = (seconds) => commitSeconds.observe(seconds);
  }

  /** Reads `sources` at every scrape and counts their events from now on. */
  attach(sources: MetricSources): void {
    const registry = this.registry;
    // One status and one set of driver totals per scrape, however many metrics read them.
    const status = readOncePerScrape(() => sources.status());
    const driver = readOncePerScrape(() => sources.driverStats());
    const gauge = (name: string, help: string, read: (s: ReplicaStatusView) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(status()));
        },
      });
    const roleOf = (s: ReplicaStatusView) => (s.role === 'follower' && !s.voter ? 'learner' : s.role);

    new Gauge({
      name: 'chat_replica_role',
      help: "This replica's role: 1 for the current one",
      labelNames: ['role'],
      registers: [registry],
      collect() {
        const role = roleOf(status());
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
      },
    });
    gauge('chat_replica_is_leader', '1 when this replica leads', (s) => (s.role === 'leader' ? 1 : 0));
    gauge('chat_replica_has_leader', '1 when this replica knows a leader', (s) => (s.leaderId !== '' ? 1 : 0));
    gauge(
      'chat_replica_caught_up',
      '1 when the leader of the current epoch has shown this replica is in its in-sync set and holds everything committed',
      (s) => (s.caughtUp ? 1 : 0),
    );
    gauge('chat_replica_epoch', 'The epoch this replica is in', (s) => s.epoch);
    gauge('chat_log_last_index', "Index of the last entry in this replica's log", (s) => s.lastIndex);
    gauge('chat_log_commit_index', 'Highest index this replica knows committed', (s) => s.commitIndex);
    gauge('chat_log_applied_index', 'Highest index applied to the chat state', (s) => s.appliedIndex);
    gauge(
      'chat_log_first_index',
      'First index still in the log (older entries are compacted into the state)',
      (s) => s.logStartIndex,
    );
    gauge(
      'chat_in_sync_replicas',
      'Size of the in-sync set (in majority mode: the voting members)',
      (s) => s.inSync.length,
    );
    gauge(
      'chat_voting_replicas',
      'Voting members of the configuration',
      (s) => s.config.replicas.filter((r) => !r.learner).length,
    );
    gauge(
      'chat_learners',
      'Learners of the configuration (replicas being added)',
      (s) => s.config.replicas.filter((r) => r.learner).length,
    );
    gauge(
      'chat_waiting_for_replicas',
      'Replicas a total outage waits for before a leader can be chosen',
      (s) => s.waitingFor.length,
    );
    gauge('chat_writes_per_second', 'Ops applied per second over the last full second', (s) => s.writesPerSecond);
    gauge('chat_uptime_seconds', 'Seconds since this replica started', (s) => s.uptimeMs / 1000);
    // The driver's totals: a counter set to a total the driver keeps.
    const total = (name: string, help: string, read: (d: DriverStats) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read(driver()));
        },
      });
    total('chat_log_written_bytes_total', 'Bytes written to the log', (d) => d.log.bytes);
    total(
      'chat_apply_batches_total',
      'Apply transactions (each applies a batch of committed entries)',
      (d) => d.applied.batches,
    );
    total(
      'chat_applied_entries_total',
      'Log entries applied (ops and configuration entries)',
      (d) => d.applied.entries,
    );
    new Gauge({
      name: 'chat_apply_backlog_entries',
      help: 'Entries committed but not applied yet',
      registers: [registry],
      collect() {
        this.set(driver().applied.backlog);
      },
    });
    new Gauge({
      name: 'chat_connected_clients',
      help: 'Clients connected to the chat service',
      registers: [registry],
      collect() {
        this.set(sources.clients().connectedClients);
      },
    });
    new Gauge({
      name: 'chat_open_streams',
      help: 'Open chat subscription streams',
      registers: [registry],
      collect() {
        this.set(sources.clients().openStreams);
      },
    });

    // Per peer, on the leader only: reset at every scrape, so replicas that left the configuration disappear.
    const peerGauge = (name: string, help: string, read: (p: ReplicaStatusView['peers'][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['peer'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of status().peers) this.set({ peer: p.id }, read(p));
        },
      });
    peerGauge('chat_peer_lag_entries', 'On the leader: entries a peer lacks', (p) => p.lagEntries);
    peerGauge('chat_peer_last_ack_seconds', 'On the leader: seconds since a peer last answered (-1: never)', (p) =>
      p.lastAckAgo < 0 ? -1 : p.lastAckAgo / 1000,
    );
    peerGauge('chat_peer_in_sync', 'On the leader: 1 when a peer is in the in-sync set', (p) => (p.inSync ? 1 : 0));
    new Gauge({
      name: 'chat_peer_build_info',
      help: 'The builds of the replicas this one heard from, as their messages state them (protocol 0: a build of peer protocol 1)',
      labelNames: ['peer', 'version', 'commit', 'protocol'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [peer, b] of sources.peerBuilds())
          this.set({ peer, version: b.version, commit: b.commit, protocol: String(b.protocol) }, 1);
      },
    });

    this.unsubscribe.push(
      sources.subscribeEvents((e) => this.count(e)),
      sources.onApplied(() => this.applied.inc()),
    );
  }

  detach(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  private count(e: ReplicaEvent): void {
    this.events.inc({ kind: e.kind });
    const d = e.details;
    switch (e.kind) {
      case 'leader.changed':
        this.leaderChanges.inc();
        break;
      case 'election.started':
        this.elections.inc({ result: 'started' });
        break;
      case 'election.won':
        this.elections.inc({ result: 'won' });
        this.leaderChanges.inc();
        break;
      case 'election.lost':
        this.elections.inc({ result: 'lost' });
        break;
      case 'isr.shrink':
        this.isrChanges.inc({ change: 'shrink' });
        break;
      case 'isr.expand':
        this.isrChanges.inc({ change: 'expand' });
        break;
      case 'snapshot.transferred':
        this.snapshots.inc({ direction: 'sent', result: 'ok' });
        if (typeof d.bytes === 'number') this.snapshotBytes.inc({ direction: 'sent' }, d.bytes);
        break;
      case 'snapshot.failed':
        this.snapshots.inc({ direction: 'sent', result: 'failed' });
        break;
      case 'snapshot.installed':
        this.snapshots.inc({ direction: 'received', result: 'ok' });
        break;
      case 'log.quarantined':
        if (typeof d.count === 'number') this.quarantined.inc(d.count);
        break;
      case 'leader.transfer_done':
        this.transfers.inc({ result: 'done' });
        break;
      case 'leader.transfer_failed':
        this.transfers.inc({ result: 'failed' });
        break;
    }
  }
}
