/** The shape of bench/results/*.json and the target checks computed from it. */
import type { DeliveryResult } from '../scenarios/delivery.js';
import type { CatchupResult } from '../scenarios/catchup.js';
import type { DiskCeilingResult, EchoResult } from '../scenarios/ceilings.js';
import type { EtcdComparison } from '../scenarios/etcd.js';
import type { FailoverResult } from '../scenarios/failover.js';
import type { GrowthResult } from '../scenarios/growth.js';
import type { ProfileResult } from '../scenarios/profile.js';
import type { HistoryResult, RestartResult } from '../scenarios/store.js';
import type { SubscriptionsResult } from '../scenarios/subscriptions.js';
import type { MajorityResult, ThroughputResult } from '../scenarios/throughput.js';
import type { BenchSettings } from './context.js';
import type { LoadResult } from './load.js';
import type { MachineInfo } from './machine.js';

export interface ScenarioResults {
  etcd?: EtcdComparison;
  throughput?: ThroughputResult;
  single?: ThroughputResult;
  majority?: MajorityResult;
  echo?: EchoResult;
  disk?: DiskCeilingResult;
  delivery?: DeliveryResult;
  failover?: FailoverResult;
  catchup?: CatchupResult;
  restart?: RestartResult;
  history?: HistoryResult;
  subscriptions?: SubscriptionsResult;
  profile?: ProfileResult;
  growth?: GrowthResult;
}

export type ScenarioName = keyof ScenarioResults;

export interface BenchResults {
  version: 1;
  date: string;
  quick: boolean;
  settings: BenchSettings;
  machine: MachineInfo;
  /** When each scenario ran (a partial run merges into earlier results). */
  ranAt: Partial<Record<ScenarioName, string>>;
  results: ScenarioResults;
  errors: { scenario: string; message: string }[];
  /** What the replicas' logs recorded per scenario: elections, quarantines, safety violations. */
  incidents: Partial<
    Record<
      ScenarioName,
      { clusters: number; electionsWon: number; quarantined: number; safetyViolations: number; firstViolation?: string }
    >
  >;
  seconds: number;
}

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean | undefined;
}

export function level(levels: LoadResult[] | undefined, inflight: number): LoadResult | undefined {
  return levels?.find((l) => l.inflight === inflight);
}

function fmt(v: number | undefined, unit = '', digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits })}${unit}`;
}

export function checkTargets(r: ScenarioResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const t64 = level(r.throughput?.levels, 64);
  const t1 = level(r.throughput?.levels, 1);
  const e64 = level(r.echo?.levels, 64);
  const add = (
    what: string,
    target: string,
    measured: number | undefined,
    ok: (v: number) => boolean,
    unit = '',
    digits = 0,
  ) =>
    out.push({
      what,
      target,
      measured: fmt(measured, unit, digits),
      met: measured === undefined || !Number.isFinite(measured) ? undefined : ok(measured),
    });
  add('durable 3-replica sends/s at 64 in flight', '≥ 3,000/s', t64?.sendsPerSecond, (v) => v >= 3000, '/s');
  add(
    '… as a share of the gRPC echo ceiling',
    '≥ 60%',
    t64 && e64 ? (100 * t64.sendsPerSecond) / e64.sendsPerSecond : undefined,
    (v) => v >= 60,
    '%',
    1,
  );
  add('latency at 1 in flight, p50', '< 1.5 ms', t1?.latencyMs.p50, (v) => v < 1.5, ' ms', 2);
  add('latency at 1 in flight, p99', '< 5 ms', t1?.latencyMs.p99, (v) => v < 5, ' ms', 2);
  add('failover (leader SIGKILL → next ack), median', '< 1 s', r.failover?.medianMs, (v) => v < 1000, ' ms');
  add('failover, max', '< 1.5 s', r.failover?.maxMs, (v) => v < 1500, ' ms');
  if (r.failover) {
    const f = r.failover;
    const bad = f.failedSends + f.check.lost + f.check.doubled + f.check.wrongId;
    out.push({
      what: 'sends failed / lost / doubled across the failovers',
      target: '0 / 0 / 0',
      measured: `${f.failedSends} / ${f.check.lost} / ${f.check.doubled} (of ${f.check.acked.toLocaleString('en-US')})`,
      met: bad === 0,
    });
  }
  add(
    'planned restart (leader SIGTERM → next ack), median',
    '< 250 ms (no election timeout)',
    r.failover?.planned?.medianMs,
    (v) => v < 250,
    ' ms',
  );
  add(
    'writes stall when a follower dies, max',
    '≤ sync timeout (500 ms) + a heartbeat',
    r.failover?.followerMaxStallMs,
    (v) => v <= 600,
    ' ms',
  );
  add(
    'throughput with the large store / empty store',
    '≥ 90%',
    r.history ? r.history.ratio * 100 : undefined,
    (v) => v >= 90,
    '%',
    1,
  );
  add(
    `leader CPU cost of ${r.subscriptions?.streams ?? 1000} idle streams (with − without)`,
    '< 2% of a core',
    r.subscriptions?.leaderCpuStreamsCost,
    (v) => v < 2,
    '%',
    1,
  );
  add('catch-up speed', '≥ 50,000 entries/s', r.catchup?.entriesPerSecond, (v) => v >= 50_000, '/s');
  add(
    `restart with ${fmt(r.restart?.messages)} messages: follower back in sync`,
    '< 3 s',
    r.restart?.follower.inSyncMs,
    (v) => v < 3000,
    ' ms',
  );
  add(
    `restart with ${fmt(r.restart?.messages)} messages: whole cluster serving`,
    '< 3 s',
    r.restart?.cold.leaderMs,
    (v) => v < 3000,
    ' ms',
  );
  return out;
}
