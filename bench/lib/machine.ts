/** The machine a run happened on, for the report. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { REPO_ROOT } from './cluster.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  disk: string;
  node: string;
  os: string;
  commit: string;
  loadAverageAtStart: number[];
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function diskOf(path: string): string {
  const df = run('df', ['-P', '-T', path]).split('\n')[1]?.split(/\s+/) ?? [];
  const [device, fsType, sizeKb] = [df[0] ?? '?', df[1] ?? '?', Number(df[2] ?? 0)];
  const name = device
    .replace('/dev/', '')
    .replace(/[0-9]+$/, '')
    .replace(/p$/, '');
  let rotational = '';
  try {
    rotational =
      readFileSync(`/sys/block/${name}/queue/rotational`, 'utf8').trim() === '1' ? ', rotational' : ', non-rotational';
  } catch {
    // not a plain block device
  }
  let virtio = '';
  if (name.startsWith('vd')) virtio = ' (virtio)';
  return `${device}${virtio} ${fsType}, ${Math.round(sizeKb / 1024 / 1024)} GiB${rotational}; temp dir ${path}`;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    nproc: Number(run('nproc', [])) || availableParallelism(),
    cpuModel: `${list[0]?.model ?? 'unknown'}${list[0]?.speed ? ` @ ${list[0].speed} MHz` : ''}`,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    disk: diskOf(tmpdir()),
    node: process.version,
    os: `${type()} ${release()}`,
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}
