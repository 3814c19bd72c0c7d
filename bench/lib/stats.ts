/** Percentiles and summaries of latency samples (ms). */

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** The q-quantile (0..1) of ascending `sorted`, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  return quantile(Float64Array.from(values).sort(), 0.5);
}

/** Rounds for reports: 3 significant digits below 100, whole numbers above. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  if (Math.abs(v) >= 100) return Math.round(v);
  if (Math.abs(v) >= 10) return Math.round(v * 10) / 10;
  if (Math.abs(v) >= 1) return Math.round(v * 100) / 100;
  return Math.round(v * 1000) / 1000;
}

export function roundSummary(s: LatencySummary): LatencySummary {
  return {
    count: s.count,
    mean: round(s.mean),
    p50: round(s.p50),
    p90: round(s.p90),
    p99: round(s.p99),
    p999: round(s.p999),
    max: round(s.max),
  };
}

/** Counts of samples per bucket of `width` ms from `from`, for a throughput timeline. */
export function buckets(times: readonly number[], from: number, to: number, width: number): number[] {
  const n = Math.max(1, Math.ceil((to - from) / width));
  const out = new Array<number>(n).fill(0);
  for (const t of times) {
    if (t < from || t >= to) continue;
    out[Math.floor((t - from) / width)]!++;
  }
  return out;
}
