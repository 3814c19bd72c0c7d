/**
 * The cluster's configuration as pure values: who votes, who learns, who is in
 * sync, and which epochs each replica may lead. Every change returns a new
 * config; the core appends it to the log as a config entry.
 */
import type { Config, ConfigReplica, Entry, NodeId } from './types.js';

/**
 * Epochs are dealt to slots round-robin: slot s owns the epochs e with
 * e % EPOCH_SLOTS === s, so two replicas can never lead the same epoch. A
 * replica keeps its slot for as long as it is in the cluster and slots are
 * never reused, so a cluster can hand out this many slots in its lifetime.
 */
export const EPOCH_SLOTS = 64;

/** Replicas (voters and learners) a configuration may hold at once. */
export const MAX_REPLICAS = 16;

/** Replicas in id order, the order a configuration keeps them in. */
function byId(a: { id: NodeId }, b: { id: NodeId }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The configuration of a new cluster: every replica votes and is in sync, slots in id order. */
export function initialConfig(replicas: readonly { id: NodeId; address: string; peerAddress?: string }[]): Config {
  const sorted = [...replicas].sort(byId);
  return {
    replicas: sorted.map((r, slot) => ({
      id: r.id,
      address: r.address,
      ...(r.peerAddress ? { peerAddress: r.peerAddress } : {}),
      slot,
      learner: false,
      incarnation: '',
    })),
    inSync: sorted.map((r) => r.id),
    nextSlot: sorted.length,
    force: 0,
    index: 0,
    epoch: 0,
  };
}

export function votersOf(config: Config): NodeId[] {
  return config.replicas.filter((r) => !r.learner).map((r) => r.id);
}

export function learnersOf(config: Config): NodeId[] {
  return config.replicas.filter((r) => r.learner).map((r) => r.id);
}

export function replicaOf(config: Config, id: NodeId): ConfigReplica | undefined {
  return config.replicas.find((r) => r.id === id);
}

export function isVoter(config: Config, id: NodeId): boolean {
  return replicaOf(config, id)?.learner === false;
}

/** The lowest epoch above `above` that `slot` owns. */
export function nextEpochOfSlot(slot: number, above: number): number {
  const e = above + 1;
  return e + ((slot - (e % EPOCH_SLOTS) + EPOCH_SLOTS) % EPOCH_SLOTS);
}

/**
 * Epochs are grouped in eras of this many. A forced leader opens an era of its own: every epoch of the history it
 * starts is higher than every epoch of a history that does not know of the force (which would need 2^26 elections to
 * leave its era), and eras are dealt to slots like epochs, so two forces that do not know of each other never share one.
 */
export const ERA = 2 ** 32;

/** The epoch a forced leader of `slot` takes: its slot's first epoch in its own next era above every epoch it has seen. */
export function forcedEpoch(slot: number, seen: number): number {
  return nextEpochOfSlot(slot, Math.floor(seen / ERA)) * ERA + slot;
}

/** The same replicas with another in-sync set (not yet placed in the log). */
export function withInSync(config: Config, inSync: readonly NodeId[]): Config {
  return { ...config, inSync: [...inSync].sort(), index: 0, epoch: 0 };
}

/** `id` joins as a learner with a fresh slot. */
export function withLearner(config: Config, id: NodeId, address: string, peerAddress?: string): Config {
  const replicas = [
    ...config.replicas,
    { id, address, ...(peerAddress ? { peerAddress } : {}), slot: config.nextSlot, learner: true, incarnation: '' },
  ].sort(byId);
  return { ...config, replicas, nextSlot: config.nextSlot + 1, index: 0, epoch: 0 };
}

/** The learner `id` becomes a voter and joins the in-sync set: it is promoted once it is in step. */
export function withPromoted(config: Config, id: NodeId): Config {
  const replicas = config.replicas.map((r) => (r.id === id ? { ...r, learner: false } : r));
  return { ...config, replicas, inSync: [...config.inSync, id].sort(), index: 0, epoch: 0 };
}

/** The voter `id` becomes a learner (and leaves the in-sync set): it lost data it acknowledged, and votes again once back in step. */
export function withDemoted(config: Config, id: NodeId): Config {
  const replicas = config.replicas.map((r) => (r.id === id ? { ...r, learner: true } : r));
  return { ...config, replicas, inSync: config.inSync.filter((m) => m !== id), index: 0, epoch: 0 };
}

/**
 * The configuration a forced leader starts its history with: `force` (its epoch) marks the history, and the forced
 * replica alone commits. In-sync mode: it is the in-sync set. Majority mode: it is the only voter, every other
 * replica a learner, promoted back one at a time once in step.
 */
export function forcedConfig(config: Config, id: NodeId, force: number, adaptive: boolean): Config {
  const replicas = adaptive ? config.replicas : config.replicas.map((r) => ({ ...r, learner: r.id !== id }));
  return { ...config, replicas, inSync: [id], force, index: 0, epoch: 0 };
}

/** The incarnation the configuration records for `id` ('' when none is recorded, or it is not a replica). */
export function recordedIncarnation(config: Config, id: NodeId): string {
  return replicaOf(config, id)?.incarnation ?? '';
}

/** The same configuration with these incarnations recorded (ids it does not hold are ignored). */
export function withRecorded(config: Config, records: ReadonlyMap<NodeId, string>): Config {
  if (![...records].some(([id, inc]) => inc !== '' && replicaOf(config, id) && recordedIncarnation(config, id) !== inc))
    return config;
  const replicas = config.replicas.map((r) => {
    const inc = records.get(r.id);
    return inc ? { ...r, incarnation: inc } : r;
  });
  return { ...config, replicas, index: 0, epoch: 0 };
}

/** `id` leaves the cluster (and the in-sync set). */
export function without(config: Config, id: NodeId): Config {
  return {
    ...config,
    replicas: config.replicas.filter((r) => r.id !== id),
    inSync: config.inSync.filter((m) => m !== id),
    index: 0,
    epoch: 0,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A configuration as written before forces and incarnations were recorded: those fields may be missing. */
export type StoredConfig = Omit<Config, 'replicas' | 'force'> & {
  replicas: (Omit<ConfigReplica, 'incarnation'> & { incarnation?: string })[];
  force?: number;
};

interface EncodedConfig {
  replicas: StoredConfig['replicas'];
  inSync: NodeId[];
  nextSlot: number;
  force?: number;
}

/** A configuration read from storage or an older peer: a missing force is 0, a missing incarnation ''. */
export function normalizeConfig(c: StoredConfig): Config {
  return { ...c, replicas: c.replicas.map((r) => ({ ...r, incarnation: r.incarnation ?? '' })), force: c.force ?? 0 };
}

/** The data of a config entry. */
export function encodeConfig(config: Config): Uint8Array {
  const body: EncodedConfig = {
    replicas: config.replicas,
    inSync: [...config.inSync].sort(),
    nextSlot: config.nextSlot,
  };
  if (config.force > 0) body.force = config.force;
  return encoder.encode(JSON.stringify(body));
}

/** The configuration a config entry holds, placed where the entry stands. */
export function decodeConfig(entry: Entry): Config {
  const parsed = JSON.parse(decoder.decode(entry.data)) as EncodedConfig;
  return normalizeConfig({
    replicas: parsed.replicas,
    inSync: parsed.inSync,
    nextSlot: parsed.nextSlot,
    force: parsed.force,
    index: entry.index,
    epoch: entry.epoch,
  });
}

/** Is config a newer than config b? Configs are ordered by where they stand in the log. */
export function configNewer(a: Pick<Config, 'index' | 'epoch'>, b: Pick<Config, 'index' | 'epoch'>): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.index > b.index);
}

/** "A, B, C (learner D)" for messages. */
export function describeConfig(config: Config): string {
  const learners = learnersOf(config);
  return `${votersOf(config).join(', ') || 'nobody'}${learners.length ? ` (learning: ${learners.join(', ')})` : ''}`;
}
