import type { ConfigView, LogEntry, PeerEnvelope, PeerInfo as WirePeerInfo } from '../../gen/chat/v1/replication.js';
import type { Config, Entry, EntryKind, PeerBody, PeerInfo, PeerMessage } from '../replication/types.js';
import { senderStamp } from './sender-stamp.js';

/** Converts between the core's peer messages and the wire envelopes of proto/chat/v1/replication.proto. */

export function toEnvelope(m: PeerMessage, cluster: string, fromAddress: string): PeerEnvelope {
  return { from: m.from, to: m.to, epoch: m.epoch, cluster, fromAddress, ...senderStamp(), body: toWireBody(m.body) };
}

/** Undefined for envelopes that carry no core message (snapshot chunks are assembled separately). */
export function fromEnvelope(env: PeerEnvelope): PeerMessage | undefined {
  const body = fromWireBody(env.body);
  return body ? { from: env.from, to: env.to, epoch: env.epoch, body } : undefined;
}

function toWireBody(b: PeerBody): PeerEnvelope['body'] {
  switch (b.type) {
    case 'append':
      return {
        $case: 'append',
        value: {
          prevIndex: b.prevIndex, prevEpoch: b.prevEpoch, entries: b.entries.map(toWireEntry), commitIndex: b.commitIndex,
          session: b.session, confirmedSession: b.confirmedSession,
        },
      };
    case 'appendReply':
      return {
        $case: 'appendReply',
        value: {
          success: b.success, matchIndex: b.matchIndex, hintIndex: b.hintIndex, lastIndex: b.lastIndex, requestLast: 0,
          session: b.session, echo: b.echo,
        },
      };
    case 'promise':
      return {
        $case: 'promise',
        value: {
          preVote: b.preVote, recovery: b.recovery, lastIndex: b.lastIndex, lastEpoch: b.lastEpoch, forced: false, configIndex: b.configIndex,
          configEpoch: b.configEpoch, session: b.session, transfer: b.transfer ?? false,
        },
      };
    case 'promiseReply':
      return { $case: 'promiseReply', value: { preVote: b.preVote, granted: b.granted, reason: b.reason, info: toWireInfo(b.info), echo: b.echo } };
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
      return { $case: 'snapshot', value: { lastIndex: b.lastIndex, lastEpoch: b.lastEpoch, config: toWireConfig(b.config), offset: 0, data: Buffer.alloc(0), done: true, totalSize: 0 } };
  }
}

function fromWireBody(w: PeerEnvelope['body']): PeerBody | undefined {
  if (!w) return undefined;
  switch (w.$case) {
    case 'append':
      return {
        type: 'append', prevIndex: w.value.prevIndex, prevEpoch: w.value.prevEpoch, entries: w.value.entries.map(fromWireEntry),
        commitIndex: w.value.commitIndex, session: w.value.session, confirmedSession: w.value.confirmedSession,
      };
    case 'appendReply':
      return {
        type: 'appendReply', success: w.value.success, matchIndex: w.value.matchIndex, hintIndex: w.value.hintIndex, lastIndex: w.value.lastIndex,
        session: w.value.session, echo: w.value.echo,
      };
    case 'promise':
      return {
        type: 'promise', preVote: w.value.preVote, recovery: w.value.recovery, transfer: w.value.transfer, lastIndex: w.value.lastIndex, lastEpoch: w.value.lastEpoch,
        configIndex: w.value.configIndex, configEpoch: w.value.configEpoch, session: w.value.session,
      };
    case 'promiseReply':
      return { type: 'promiseReply', preVote: w.value.preVote, granted: w.value.granted, reason: w.value.reason, info: fromWireInfo(w.value.info), echo: w.value.echo };
    case 'probe':
      return { type: 'probe', session: w.value.session };
    case 'probeReply':
      return { type: 'probeReply', info: fromWireInfo(w.value.info), echo: w.value.echo };
    case 'snapshotReply':
      return { type: 'snapshotReply', lastIndex: w.value.lastIndex, success: w.value.success, echo: w.value.echo };
    case 'timeoutNow':
      return { type: 'timeoutNow' };
    case 'snapshot':
      return { type: 'snapshot', lastIndex: w.value.lastIndex, lastEpoch: w.value.lastEpoch, config: fromWireConfig(w.value.config) };
  }
}

function toWireEntry(e: Entry): LogEntry {
  return { index: e.index, epoch: e.epoch, kind: e.kind, data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength) };
}

function fromWireEntry(e: LogEntry): Entry {
  const kind: EntryKind = e.kind === 'config' ? 'config' : 'op';
  return { index: e.index, epoch: e.epoch, kind, data: new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength) };
}

export function toWireConfig(c: Config): ConfigView {
  return {
    inSync: [...c.inSync], index: c.index, epoch: c.epoch, nextSlot: c.nextSlot,
    replicas: c.replicas.map((r) => ({ id: r.id, address: r.address, slot: r.slot, learner: r.learner })),
  };
}

export function fromWireConfig(c: ConfigView | undefined): Config {
  return {
    inSync: [...(c?.inSync ?? [])], index: c?.index ?? 0, epoch: c?.epoch ?? 0, nextSlot: c?.nextSlot ?? 0,
    replicas: (c?.replicas ?? []).map((r) => ({ id: r.id, address: r.address, slot: r.slot, learner: r.learner })),
  };
}

function toWireInfo(i: PeerInfo): WirePeerInfo {
  return {
    caughtUp: i.caughtUp, leaderId: i.leaderId, lastIndex: i.lastIndex, lastEpoch: i.lastEpoch,
    config: toWireConfig(i.config), leaderContactMsAgo: i.leaderContactAgo, isLeader: i.isLeader, session: i.session,
  };
}

function fromWireInfo(i: WirePeerInfo | undefined): PeerInfo {
  return {
    caughtUp: i?.caughtUp ?? false, leaderId: i?.leaderId ?? '', lastIndex: i?.lastIndex ?? 0, lastEpoch: i?.lastEpoch ?? 0,
    config: fromWireConfig(i?.config), leaderContactAgo: i?.leaderContactMsAgo ?? -1, isLeader: i?.isLeader ?? false, session: i?.session ?? 0,
  };
}
