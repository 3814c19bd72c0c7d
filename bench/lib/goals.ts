/**
 * The goals of issue #14 (the write path at disk speed: faster than etcd on the
 * same machine, in the same run), checked against a run's results. A ratio goal
 * is met only when every round of the etcd comparison meets it.
 */
import { runOf, type ComparedSystem, type EtcdComparison } from '../scenarios/etcd.js';
import type { ReplicationMode } from '../scenarios/throughput.js';
import type { LoadResult } from './load.js';
import { checkTargets, level, type ScenarioResults, type TargetCheck } from './results.js';

/** Entries a follower must have missed for the in-sync goal to be measured. */
export const CATCHUP_GOAL_ENTRIES = 100_000;
export const MODES: ReplicationMode[] = ['in-sync', 'majority'];

/** chat ÷ etcd of `metric` at `inflight`, one value per round where both ran. */
export function ratios(
  cmp: EtcdComparison | undefined,
  mode: ReplicationMode,
  inflight: number,
  metric: (l: LoadResult) => number,
): number[] {
  const out: number[] = [];
  for (const round of cmp?.rounds ?? []) {
    const chat = level(runOf(round, mode)?.levels, inflight);
    const etcd = level(runOf(round, 'etcd')?.levels, inflight);
    if (!chat || !etcd) continue;
    const [a, b] = [metric(chat), metric(etcd)];
    // A latency of a level without one acknowledged write is missing (null in the results file).
    if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a / b)) out.push(a / b);
  }
  return out;
}

/** A value's range over the rounds, with `digits` decimals: "1.23" or "1.10–1.35". */
export function span(values: number[], digits = 2, unit = ''): string {
  if (values.length === 0) return 'n/a';
  const f = (v: number) =>
    `${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}${unit}`;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return f(lo) === f(hi) ? f(lo) : `${f(lo)}–${f(hi)}`;
}

/** Idle CPU of a system (percent of one core, all its processes), one value per round. */
export function idleCpu(cmp: EtcdComparison | undefined, system: ComparedSystem): number[] {
  return (cmp?.rounds ?? []).flatMap((round) => {
    const run = runOf(round, system);
    return run ? [run.idle.totalPercent] : [];
  });
}

export function checkGoals(r: ScenarioResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const cmp = r.etcd;
  const ratioGoal = (what: string, target: string, values: number[], ok: (v: number) => boolean) =>
    out.push({
      what,
      target,
      measured: values.length ? `${span(values)}×` : 'n/a',
      met: values.length ? values.every(ok) : undefined,
    });
  for (const mode of MODES) {
    ratioGoal(
      `64 in flight, ${mode}: sends/s ÷ etcd's puts/s`,
      '≥ 1.2×',
      ratios(cmp, mode, 64, (l) => l.sendsPerSecond),
      (v) => v >= 1.2,
    );
    ratioGoal(
      `64 in flight, ${mode}: p99 ÷ etcd's p99`,
      '≤ 1×',
      ratios(cmp, mode, 64, (l) => l.latencyMs.p99),
      (v) => v <= 1,
    );
    ratioGoal(
      `1 in flight, ${mode}: p50 ÷ etcd's p50`,
      '≤ 1×',
      ratios(cmp, mode, 1, (l) => l.latencyMs.p50),
      (v) => v <= 1,
    );
    ratioGoal(
      `1 in flight, ${mode}: p99 ÷ etcd's p99`,
      '≤ 1×',
      ratios(cmp, mode, 1, (l) => l.latencyMs.p99),
      (v) => v <= 1,
    );
  }
  const c = r.catchup;
  out.push({
    what: 'catch-up speed',
    target: '≥ 50,000 entries/s',
    measured: c ? `${c.entriesPerSecond.toLocaleString('en-US')}/s` : 'n/a',
    met: c ? c.entriesPerSecond >= 50_000 : undefined,
  });
  const enough = c !== undefined && c.backlog >= CATCHUP_GOAL_ENTRIES;
  out.push({
    what: `a follower that missed ${CATCHUP_GOAL_ENTRIES.toLocaleString('en-US')} entries: process start → back in the in-sync set`,
    target: '< 3 s',
    measured: !c
      ? 'n/a'
      : enough
        ? `${c.restartToInSyncMs.toLocaleString('en-US')} ms`
        : `not measured (${c.backlog.toLocaleString('en-US')} entries missed; --catchup ${CATCHUP_GOAL_ENTRIES})`,
    met: enough ? c.restartToInSyncMs < 3_000 : undefined,
  });
  for (const mode of MODES) {
    const idle = idleCpu(cmp, mode);
    out.push({
      what: `idle 3-replica cluster (${mode}), all replicas together`,
      target: '< 3% of a core',
      measured: idle.length ? `${span(idle, 1)}% (etcd: ${span(idleCpu(cmp, 'etcd'), 1)}%)` : 'n/a',
      met: idle.length ? idle.every((v) => v < 3) : undefined,
    });
  }
  const f = r.failover;
  out.push({
    what: 'failover (leader SIGKILL → next ack), median',
    target: '< 1 s',
    measured: f ? `${f.medianMs} ms` : 'n/a',
    met: f ? f.medianMs < 1000 : undefined,
  });
  // No regression: the failover, history, subscription and restart rows still meet their targets.
  const rows = checkTargets(r).filter((t) => /failover|stall|lost|large store|idle streams|restart/.test(t.what));
  const measuredRows = rows.filter((t) => t.met !== undefined);
  out.push({
    what: 'no regression in the failover, history, subscriptions and restart rows',
    target: 'their targets (below) still met',
    measured: measuredRows.length
      ? `${measuredRows.filter((t) => t.met).length} of ${measuredRows.length} met${measuredRows.length < rows.length ? ` (${rows.length - measuredRows.length} not run)` : ''}`
      : 'n/a',
    met: measuredRows.length ? measuredRows.every((t) => t.met) && measuredRows.length === rows.length : undefined,
  });
  return out;
}
