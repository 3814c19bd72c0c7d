import type { ConfigView, LogEntry, PeerEnvelope, PeerInfo as WirePeerInfo } from '../../gen/chat/v1/replication.js';
import { decodeConfig, EPOCH_SLOTS, MAX_REPLICAS } from '../replication/membership.js';
import { checkAddress, checkId } from '../replication/endpoints.js';
import type { Config, Entry, EntryKind, PeerBody, PeerInfo, PeerMessage } from '../replication/types.js';
import { senderStamp } from './sender-stamp.js';

/**
 * Converts between the core's peer messages and the wire envelopes of
 * proto/chat/v1/replication.proto, and checks what arrives: nothing reaches
 * the core that it could choke on (an unknown entry kind, a config entry that
 * does not decode, entries out of order, a configuration that is not one).
 */

/** Entries one append may carry: far above what a leader sends (ReplicationLimits.maxBatchEntries). */
export const MAX_APPEND_ENTRIES = 8192;

export function toEnvelope(m: PeerMessage, cluster: string, fromAddress: string): PeerEnvelope {
  return {
    from: m.from,
    to: m.to,
    epoch: m.epoch,
    force: m.force,
    incarnation: m.incarnation,
    cluster,
    fromAddress,
    ...senderStamp(),
    body: toWireBody(m.body),
  };
}

export type ReadEnvelope = { ok: true; message: PeerMessage } | { ok: false; problem: string };

/**
 * The core message an envelope carries, once checked; hellos and snapshot
 * chunks are not core messages (the peer service handles them).
 */
export function readEnvelope(env: PeerEnvelope): ReadEnvelope {
  const problem = envelopeProblem(env);
  if (problem) return { ok: false, problem };
  const body = fromWireBody(env.body);
  if (!body)
    return { ok: false, problem: `a ${env.body?.$case ?? 'message without a body'} is not a replication message` };
  return {
    ok: true,
    message: { from: env.from, to: env.to, epoch: env.epoch, force: env.force, incarnation: env.incarnation, body },
  };
}

function envelopeProblem(env: PeerEnvelope): string | undefined {
  const body = env.body;
  if (!body) return 'a message without a body';
  const lineage = lineageProblem(env.force, env.incarnation);
  if (lineage) return `the sender's ${lineage}`;
  switch (body.$case) {
    case 'append': {
      const { prevIndex, entries } = body.value;
      if (entries.length > MAX_APPEND_ENTRIES)
        return `an append of ${entries.length} entries (at most ${MAX_APPEND_ENTRIES})`;
      let lastEpoch = 0;
      for (const [i, e] of entries.entries()) {
        if (e.index !== prevIndex + 1 + i) return `entry ${i} of an append after ${prevIndex} has index ${e.index}`;
        if (e.epoch < lastEpoch || e.epoch > env.epoch)
          return `entry ${e.index} has epoch ${e.epoch}, out of order or beyond the sender's epoch ${env.epoch}`;
        lastEpoch = e.epoch;
        if (e.kind !== 'op' && e.kind !== 'config' && e.kind !== 'noop')
          return `entry ${e.index} is of unknown kind ${JSON.stringify(e.kind)}`;
        if (e.kind === 'config') {
          const configProblem = configEntryProblem(e);
          if (configProblem) return `config entry ${e.index}: ${configProblem}`;
        }
      }
      return undefined;
    }
    case 'promiseReply':
    case 'probeReply':
      return body.value.info?.config ? configViewProblem(body.value.info.config) : undefined;
    case 'snapshot':
      return body.value.config ? configViewProblem(body.value.config) : 'a snapshot without its configuration';
    default:
      return undefined;
  }
}

/** Why a config entry's data is not a configuration, or undefined. */
export function configEntryProblem(entry: Pick<LogEntry, 'index' | 'epoch' | 'data'>): string | undefined {
  let config: Config;
  try {
    config = decodeConfig({ index: entry.index, epoch: entry.epoch, kind: 'config', data: entry.data });
  } catch (err) {
    return `it does not decode (${(err as Error).message})`;
  }
  return configProblem(config);
}

/** The core's snapshot message a finished snapshot's last chunk stands for, once its header is checked. */
export function readSnapshotHeader(env: PeerEnvelope): ReadEnvelope {
  if (env.body?.$case !== 'snapshot') return { ok: false, problem: 'not a snapshot chunk' };
  const problem = envelopeProblem(env);
  if (problem) return { ok: false, problem };
  const { lastIndex, lastEpoch, config } = env.body.value;
  return {
    ok: true,
    message: {
      from: env.from,
      to: env.to,
      epoch: env.epoch,
      force: env.force,
      incarnation: env.incarnation,
      body: { type: 'snapshot', lastIndex, lastEpoch, config: fromWireConfig(config) },
    },
  };
}

function configViewProblem(view: ConfigView): string | undefined {
  const problem = configProblem(fromWireConfig(view));
  return problem ? `a configuration that is not one: ${problem}` : undefined;
}

/** A data directory's incarnation: '' (not recorded) or the id drawn for it (a UUID; any short id of letters, digits and dashes). */
const INCARNATION = /^[0-9A-Za-z-]{0,64}$/;

function incarnationValid(incarnation: unknown): boolean {
  return typeof incarnation === 'string' && INCARNATION.test(incarnation);
}

/** Why a sender's lineage (the forced epoch it follows) or incarnation cannot be, or undefined. */
function lineageProblem(force: number, incarnation: string): string | undefined {
  if (!Number.isSafeInteger(force) || force < 0) return `lineage (force) ${String(force)}`;
  if (!incarnationValid(incarnation)) return `incarnation ${JSON.stringify(incarnation)}`;
  return undefined;
}

/** Why a configuration cannot be (ids, addresses, slots, the in-sync set), or undefined. */
function configProblem(config: Config): string | undefined {
  if (!config || !Array.isArray(config.replicas) || !Array.isArray(config.inSync))
    return 'no list of replicas and in-sync set';
  if (config.replicas.length > MAX_REPLICAS) return `${config.replicas.length} replicas (at most ${MAX_REPLICAS})`;
  if (!Number.isSafeInteger(config.nextSlot) || config.nextSlot < 0 || config.nextSlot > EPOCH_SLOTS)
    return `next slot ${String(config.nextSlot)}`;
  if (!Number.isSafeInteger(config.force) || config.force < 0) return `lineage (force) ${String(config.force)}`;
  const ids = new Set<string>();
  const slots = new Set<number>();
  for (const r of config.replicas) {
    if (typeof r !== 'object' || r === null) return 'a replica that is not an object';
    if (
      typeof r.id !== 'string' ||
      typeof r.address !== 'string' ||
      (r.peerAddress !== undefined && typeof r.peerAddress !== 'string')
    )
      return 'a replica whose id or addresses are not text';
    try {
      checkId(r.id);
      if (r.address !== '') checkAddress(r.address, `address of ${r.id}`);
      if (r.peerAddress !== undefined && r.peerAddress !== '') checkAddress(r.peerAddress, `peer address of ${r.id}`);
    } catch (err) {
      return (err as Error).message;
    }
    if (typeof r.learner !== 'boolean') return `replica ${r.id} is neither learner nor voter`;
    if (!incarnationValid(r.incarnation)) return `replica ${r.id} has incarnation ${JSON.stringify(r.incarnation)}`;
    if (!Number.isSafeInteger(r.slot) || r.slot < 0 || r.slot >= config.nextSlot)
      return `replica ${r.id} has slot ${String(r.slot)} (next slot ${config.nextSlot})`;
    if (ids.has(r.id) || slots.has(r.slot)) return `replica ${r.id} or its slot ${r.slot} appears twice`;
    ids.add(r.id);
    slots.add(r.slot);
  }
  // A member being removed stays in the in-sync set until its removal is committed (the core's rule): a valid id, once.
  const inSync = new Set<string>();
  for (const id of config.inSync) {
    if (typeof id !== 'string') return `the in-sync set names ${JSON.stringify(id)}, not a replica id`;
    try {
      checkId(id);
    } catch (err) {
      return `the in-sync set: ${(err as Error).message}`;
    }
    if (inSync.has(id)) return `the in-sync set names ${id} twice`;
    inSync.add(id);
  }
  if (config.inSync.length > MAX_REPLICAS + 1) return `an in-sync set of ${config.inSync.length}`;
  return undefined;
}

function toWireBody(b: PeerBody): PeerEnvelope['body'] {
  switch (b.type) {
    case 'append':
      return {
        $case: 'append',
        value: {
          prevIndex: b.prevIndex,
          prevEpoch: b.prevEpoch,
          entries: b.entries.map(toWireEntry),
          commitIndex: b.commitIndex,
          session: b.session,
          confirmedSession: b.confirmedSession,
        },
      };
    case 'appendReply':
      return {
        $case: 'appendReply',
        value: {
          success: b.success,
          matchIndex: b.matchIndex,
          hintIndex: b.hintIndex,
          lastIndex: b.lastIndex,
          requestLast: 0,
          session: b.session,
          echo: b.echo,
          rewind: b.rewind,
        },
      };
    case 'promise':
      return {
        $case: 'promise',
        value: {
          preVote: b.preVote,
          recovery: b.recovery,
          lastIndex: b.lastIndex,
          lastEpoch: b.lastEpoch,
          forced: false,
          configIndex: b.configIndex,
          configEpoch: b.configEpoch,
          session: b.session,
          transfer: b.transfer ?? false,
        },
      };
    case 'promiseReply':
      return {
        $case: 'promiseReply',
        value: { preVote: b.preVote, granted: b.granted, reason: b.reason, info: toWireInfo(b.info), echo: b.echo },
      };
    case 'probe':
      return { $case: 'probe', value: { session: b.session } };
    case 'probeReply':
      return { $case: 'probeReply', value: { info: toWireInfo(b.info), echo: b.echo } };
    case 'snapshotReply':
      return { $case: 'snapshotReply', value: { lastIndex: b.lastIndex, success: b.success, echo: b.echo } };
    case 'timeoutNow':
      return { $case: 'timeoutNow', value: {} };
    case 'snapshot':
      // The header travels with the last chunk; see the peer transport.
      return {
        $case: 'snapshot',
        value: {
          lastIndex: b.lastIndex,
          lastEpoch: b.lastEpoch,
          config: toWireConfig(b.config),
          offset: 0,
          data: Buffer.alloc(0),
          done: true,
          totalSize: 0,
        },
      };
  }
}

function fromWireBody(w: PeerEnvelope['body']): PeerBody | undefined {
  if (!w) return undefined;
  switch (w.$case) {
    case 'hello':
      return undefined;
    case 'append':
      return {
        type: 'append',
        prevIndex: w.value.prevIndex,
        prevEpoch: w.value.prevEpoch,
        entries: w.value.entries.map(fromWireEntry),
        commitIndex: w.value.commitIndex,
        session: w.value.session,
        confirmedSession: w.value.confirmedSession,
      };
    case 'appendReply':
      return {
        type: 'appendReply',
        success: w.value.success,
        matchIndex: w.value.matchIndex,
        hintIndex: w.value.hintIndex,
        lastIndex: w.value.lastIndex,
        session: w.value.session,
        echo: w.value.echo,
        rewind: w.value.rewind,
      };
    case 'promise':
      return {
        type: 'promise',
        preVote: w.value.preVote,
        recovery: w.value.recovery,
        transfer: w.value.transfer,
        lastIndex: w.value.lastIndex,
        lastEpoch: w.value.lastEpoch,
        configIndex: w.value.configIndex,
        configEpoch: w.value.configEpoch,
        session: w.value.session,
      };
    case 'promiseReply':
      return {
        type: 'promiseReply',
        preVote: w.value.preVote,
        granted: w.value.granted,
        reason: w.value.reason,
        info: fromWireInfo(w.value.info),
        echo: w.value.echo,
      };
    case 'probe':
      return { type: 'probe', session: w.value.session };
    case 'probeReply':
      return { type: 'probeReply', info: fromWireInfo(w.value.info), echo: w.value.echo };
    case 'snapshotReply':
      return { type: 'snapshotReply', lastIndex: w.value.lastIndex, success: w.value.success, echo: w.value.echo };
    case 'timeoutNow':
      return { type: 'timeoutNow' };
    case 'snapshot':
      return undefined;
  }
}

function toWireEntry(e: Entry): LogEntry {
  return {
    index: e.index,
    epoch: e.epoch,
    kind: e.kind,
    data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength),
  };
}

/** An entry already checked by readEnvelope: its kind is one of ours. */
function fromWireEntry(e: LogEntry): Entry {
  return {
    index: e.index,
    epoch: e.epoch,
    kind: e.kind as EntryKind,
    data: new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength),
  };
}

export function toWireConfig(c: Config): ConfigView {
  return {
    inSync: [...c.inSync],
    index: c.index,
    epoch: c.epoch,
    nextSlot: c.nextSlot,
    force: c.force,
    replicas: c.replicas.map((r) => ({
      id: r.id,
      address: r.address,
      peerAddress: r.peerAddress ?? '',
      slot: r.slot,
      learner: r.learner,
      incarnation: r.incarnation,
    })),
  };
}

export function fromWireConfig(c: ConfigView | undefined): Config {
  return {
    inSync: [...(c?.inSync ?? [])],
    index: c?.index ?? 0,
    epoch: c?.epoch ?? 0,
    nextSlot: c?.nextSlot ?? 0,
    force: c?.force ?? 0,
    replicas: (c?.replicas ?? []).map((r) => ({
      id: r.id,
      address: r.address,
      ...(r.peerAddress ? { peerAddress: r.peerAddress } : {}),
      slot: r.slot,
      learner: r.learner,
      incarnation: r.incarnation,
    })),
  };
}

function toWireInfo(i: PeerInfo): WirePeerInfo {
  return {
    caughtUp: i.caughtUp,
    leaderId: i.leaderId,
    lastIndex: i.lastIndex,
    lastEpoch: i.lastEpoch,
    config: toWireConfig(i.config),
    leaderContactMsAgo: i.leaderContactAgo,
    isLeader: i.isLeader,
    session: i.session,
  };
}

function fromWireInfo(i: WirePeerInfo | undefined): PeerInfo {
  return {
    caughtUp: i?.caughtUp ?? false,
    leaderId: i?.leaderId ?? '',
    lastIndex: i?.lastIndex ?? 0,
    lastEpoch: i?.lastEpoch ?? 0,
    config: fromWireConfig(i?.config),
    leaderContactAgo: i?.leaderContactMsAgo ?? -1,
    isLeader: i?.isLeader ?? false,
    session: i?.session ?? 0,
  };
}
