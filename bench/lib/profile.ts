/**
 * Summaries of V8 CPU profiles (.cpuprofile, written by `node --cpu-prof`):
 * self time per function and per area (gRPC, SQLite, JSON, the replication
 * core, ...), as shares of the profile's wall time.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameShare {
  frame: string;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  /** Percent of wall time with JavaScript or native work on the main thread (not idle). */
  busyPercent: number;
  top: FrameShare[];
  areas: FrameShare[];
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const s = url.indexOf('/src/');
  if (s >= 0) return url.slice(s + 1);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

function area(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'native (V8/libuv, unattributed)';
  if (url.includes('better-sqlite3')) return 'SQLite (better-sqlite3)';
  if (url.includes('@grpc/') || url.includes('grpc-js')) return 'gRPC (grpc-js)';
  if (url.includes('protobufjs') || url.includes('@bufbuild') || url.includes('/gen/')) return 'protobuf encode/decode';
  if (url.includes('pino') || url.includes('sonic-boom')) return 'logging (pino)';
  if (url.includes('/replication/')) return 'replication core';
  if (url.includes('/chat/')) return 'chat state machine';
  if (url.includes('/rpc/')) return 'RPC handlers';
  if (url.includes('/server/')) return 'replica driver';
  if (url.includes('internal/http2')) return 'node http2';
  if (
    url.includes('internal/modules') ||
    url.includes('/tsx/') ||
    url.includes('internal/bootstrap') ||
    url.includes('source_map')
  )
    return 'module loading (start-up)';
  if (url.includes('internal/streams') || url.includes('stream_base')) return 'node streams';
  if (url.includes('internal/timers') || url.includes('task_queues') || functionName === 'runMicrotasks')
    return 'timers and microtasks';
  if (url.startsWith('node:') || url === '') {
    if (functionName === 'parse' || functionName === 'stringify') return 'JSON';
    if (functionName === 'writeBuffer' || functionName === 'writev' || functionName === 'writeUtf8String')
      return 'socket writes';
    return 'node core / builtins';
  }
  return 'other';
}

/**
 * Self time by function and area. `window` limits it to part of the profile,
 * in seconds before the profile's end (e.g. the load phase, not the start-up).
 */
export function summarizeProfile(
  path: string,
  topN = 12,
  window?: { fromEndSeconds: number; toEndSeconds: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const from = window ? profile.endTime - window.fromEndSeconds * 1e6 : profile.startTime;
  const to = window ? profile.endTime - window.toEndSeconds * 1e6 : profile.endTime;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    // timeDeltas[i] is the time since the previous sample; it belongs to sample i.
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t > to) continue;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const total = Math.max(1, Math.min(to, profile.endTime) - Math.max(from, profile.startTime));
  const byFrame = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const a = area(node);
    if (a === 'idle') {
      idle += us;
      continue;
    }
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const frame = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  const sorted = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([frame, us]) => ({ frame, percent: pct(us) }));
  return {
    file: basename(path),
    seconds: Math.round(total / 1e5) / 10,
    busyPercent: pct(total - idle),
    top: sorted(byFrame).slice(0, topN),
    areas: sorted(byArea),
  };
}
