/**
 * The part of the report that leads docs/benchmarks.md: the chat cluster
 * against etcd in the same run, every chat row as a ratio to etcd's, and the
 * goals of issue #14 met or missed.
 */
import { runOf, type ComparedSystem } from '../scenarios/etcd.js';
import { LEVELS } from '../scenarios/throughput.js';
import { checkGoals, idleCpu, MODES, ratios, span } from './goals.js';
import type { LoadResult } from './load.js';
import { level, type BenchResults } from './results.js';

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Decimals for milliseconds: three significant digits or so. */
function msDigits(values: number[]): number {
  const max = Math.max(0, ...values);
  return max < 10 ? 2 : max < 100 ? 1 : 0;
}

const NAMES: Record<ComparedSystem, string> = { etcd: 'etcd', 'in-sync': 'chat, in-sync', majority: 'chat, majority' };

/** A system's values of `metric` at `inflight` over the rounds. */
function values(
  r: BenchResults,
  system: ComparedSystem,
  inflight: number,
  metric: (l: LoadResult) => number,
): number[] {
  return (r.results.etcd?.rounds ?? []).flatMap((round) => {
    const l = level(runOf(round, system)?.levels, inflight);
    const v = l ? metric(l) : undefined;
    return typeof v === 'number' && Number.isFinite(v) ? [v] : [];
  });
}

/** "A 41, B 15, C 15, clients 27+27" or "etcd0 30, etcd1 17, ..." for one level of one round. */
function cpuText(l: LoadResult): string {
  const parts = Object.entries(l.cpu)
    .filter(([k]) => k !== 'machine' && k !== 'others' && !/^w\d+$/.test(k))
    .map(([k, v]) => `${k} ${Math.round(v)}`);
  const clients = Object.entries(l.cpu)
    .filter(([k]) => /^w\d+$/.test(k))
    .map(([, v]) => Math.round(v));
  if (clients.length) parts.push(`clients ${clients.join('+')}`);
  return `${parts.join(', ')}; machine ${Math.round(l.cpu.machine ?? 0)} (others ${Math.round(l.cpu.others ?? 0)})`;
}

export function etcdSection(r: BenchResults): string[] {
  const cmp = r.results.etcd;
  if (!cmp) return [];
  const out: string[] = ['### Against etcd, side by side', ''];
  if (cmp.skipped) return [...out, `Not measured in this run: ${cmp.skipped}.`, ''];
  const n = cmp.rounds.length;
  out.push(
    `etcd ${cmp.etcdVersion ?? ''} with three members against three chat replicas in each mode, one system at a time on this machine, ` +
      `each on fresh data directories, in ${n} round${n === 1 ? '' : 's'} of the same run (the order reversed every other round, so that the disk's drift hits all alike). ` +
      "The same client processes, in-flight levels and payload size: chat's SendMessage (100 characters) against etcd's KV.Put of a new key with a 100-byte value, " +
      'both from grpc-js clients with the same channel options, one client per user, straight to the leader. ' +
      `Each cell is the range over the rounds; a ratio is chat ÷ etcd within a round${n > 1 ? ', its range over the rounds' : ''}.`,
    '',
  );
  const ratioCell = (mode: ComparedSystem, inflight: number, metric: (l: LoadResult) => number) => {
    if (mode === 'etcd') return '';
    const found = ratios(cmp, mode, inflight, metric);
    return found.length ? `${span(found)}×` : 'n/a';
  };
  const rows: string[][] = [];
  for (const inflight of LEVELS) {
    for (const system of ['etcd', ...MODES] as ComparedSystem[]) {
      const rate = values(r, system, inflight, (l) => l.sendsPerSecond);
      const p50 = values(r, system, inflight, (l) => l.latencyMs.p50);
      const p99 = values(r, system, inflight, (l) => l.latencyMs.p99);
      rows.push([
        String(inflight),
        NAMES[system],
        span(rate, 0),
        ratioCell(system, inflight, (l) => l.sendsPerSecond),
        span(p50, msDigits(p50)),
        ratioCell(system, inflight, (l) => l.latencyMs.p50),
        span(p99, msDigits(p99)),
        ratioCell(system, inflight, (l) => l.latencyMs.p99),
      ]);
    }
  }
  out.push(table(['in flight', 'system', 'writes/s', '÷ etcd', 'p50 ms', '÷ etcd', 'p99 ms', '÷ etcd'], rows), '');
  out.push(
    'CPU, percent of one core per process, in the last round (clients are the load generator\'s processes; "others" is work outside the benchmark):',
    '',
  );
  const last = cmp.rounds.at(-1)!;
  const cpuRows: string[][] = [];
  for (const system of ['etcd', ...MODES] as ComparedSystem[]) {
    const run = runOf(last, system);
    if (!run) continue;
    cpuRows.push([
      NAMES[system],
      `idle: ${run.idle.totalPercent}`,
      ...LEVELS.map((i) => {
        const l = level(run.levels, i);
        return l ? cpuText(l) : 'n/a';
      }),
    ]);
  }
  out.push(table(['system', 'no clients', ...LEVELS.map((i) => `${i} in flight`)], cpuRows), '');
  out.push(
    `Idle, all processes of a cluster together (percent of one core, over the rounds): etcd ${span(idleCpu(cmp, 'etcd'), 1)}, ` +
      `chat in-sync ${span(idleCpu(cmp, 'in-sync'), 1)}, chat majority ${span(idleCpu(cmp, 'majority'), 1)}.`,
    '',
  );
  return out;
}

export function goalsSection(r: BenchResults): string[] {
  const goals = checkGoals(r.results);
  return [
    '### Goals of issue #14',
    '',
    'Ratios are met only when every round meets them. Scenarios a partial run did not include show as "not run".',
    '',
    table(
      ['goal', 'target', 'measured', ''],
      goals.map((g) => [g.what, g.target, g.measured, g.met === undefined ? 'not run' : g.met ? 'met' : '**missed**']),
    ),
    '',
  ];
}

export function goalLines(r: BenchResults): string[] {
  return checkGoals(r.results).map(
    (g) => `${g.met === undefined ? '  -  ' : g.met ? ' met ' : 'MISSED'}  ${g.what}: ${g.measured} (goal ${g.target})`,
  );
}
