/**
 * CPU and memory of a process from /proc (Linux): CPU time is utime + stime
 * in clock ticks, sampled at the start and end of a window.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Resident memory in MiB, or undefined when the process is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds all cores spent busy (everything but idle and iowait) since boot. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are already in user)
  const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + v[7]!;
  return busy / clockTicks();
}

/**
 * Measures the CPU share (percent of one core) of several processes over a
 * window, and of the whole machine: `machine` is every core's busy time and
 * `others` what processes not in the list used (other work on the machine
 * skews the numbers; the report shows it).
 */
export class CpuWindow {
  private readonly start = new Map<string, { pid: number; cpu: number }>();
  private readonly startedAt = performance.now();
  private readonly machineStart = machineBusySeconds();

  constructor(pids: Record<string, number | undefined>) {
    for (const [name, pid] of Object.entries(pids)) {
      if (pid === undefined) continue;
      const cpu = cpuSeconds(pid);
      if (cpu !== undefined) this.start.set(name, { pid, cpu });
    }
  }

  /** Percent of one core each process used since the window opened, plus `machine` and `others`. */
  finish(): Record<string, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out: Record<string, number> = {};
    let ours = 0;
    for (const [name, { pid, cpu }] of this.start) {
      const now = cpuSeconds(pid);
      if (now !== undefined && seconds > 0) {
        out[name] = Math.round(((now - cpu) / seconds) * 1000) / 10;
        ours += out[name]!;
      }
    }
    if (seconds > 0) {
      out.machine = Math.round(((machineBusySeconds() - this.machineStart) / seconds) * 1000) / 10;
      out.others = Math.max(0, Math.round((out.machine - ours) * 10) / 10);
    }
    return out;
  }
}
