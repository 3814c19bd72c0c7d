import { describe, expect, it } from 'vitest';
import { EventStore } from '../../src/ops/model/events.js';
import {
  applyFilters,
  cycle,
  kindGroups,
  kindMatches,
  matchesFilter,
  parseFilterQuery,
} from '../../src/ops/model/filter.js';
import { event } from './fixtures.js';

describe('merged timeline', () => {
  it('interleaves replicas by time whatever order the feeds deliver in', () => {
    const store = new EventStore();
    store.addAll([event({ replicaId: 'B', seq: 1, timeMs: 20 }), event({ replicaId: 'B', seq: 2, timeMs: 40 })]);
    store.addAll([
      event({ replicaId: 'A', seq: 1, timeMs: 10 }),
      event({ replicaId: 'A', seq: 2, timeMs: 30 }),
      event({ replicaId: 'A', seq: 3, timeMs: 50 }),
    ]);
    expect(store.all().map((e) => `${e.replicaId}${e.seq}`)).toEqual(['A1', 'B1', 'A2', 'B2', 'A3']);
  });

  it('keeps each (replica, seq) once when a reconnecting feed replays its history', () => {
    const store = new EventStore();
    const history = [event({ replicaId: 'A', seq: 1, timeMs: 10 }), event({ replicaId: 'A', seq: 2, timeMs: 20 })];
    expect(store.addAll(history)).toBe(2);
    expect(store.addAll([...history, event({ replicaId: 'A', seq: 3, timeMs: 30 })])).toBe(1);
    expect(store.all().map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('keeps the events of a restarted replica, which numbers them from 1 again', () => {
    const store = new EventStore();
    store.addAll([
      event({ replicaId: 'A', seq: 1, timeMs: 10, kind: 'replica.started' }),
      event({ replicaId: 'A', seq: 2, timeMs: 20 }),
    ]);
    store.addAll([event({ replicaId: 'A', seq: 1, timeMs: 5_000, kind: 'replica.started' })]);
    expect(store.all().filter((e) => e.kind === 'replica.started')).toHaveLength(2);
  });

  it('orders events of the same millisecond by replica then sequence', () => {
    const store = new EventStore();
    store.addAll([
      event({ replicaId: 'C', seq: 7, timeMs: 10 }),
      event({ replicaId: 'A', seq: 9, timeMs: 10 }),
      event({ replicaId: 'A', seq: 8, timeMs: 10 }),
    ]);
    expect(store.all().map((e) => `${e.replicaId}${e.seq}`)).toEqual(['A8', 'A9', 'C7']);
  });

  it('drops the oldest events beyond its capacity', () => {
    const store = new EventStore(3);
    for (let i = 1; i <= 5; i++) store.add(event({ replicaId: 'A', seq: i, timeMs: i }));
    expect(store.all().map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('lists the replicas and kinds seen', () => {
    const store = new EventStore();
    store.addAll([
      event({ replicaId: 'B', seq: 1, timeMs: 1, kind: 'isr.shrink' }),
      event({ replicaId: 'A', seq: 1, timeMs: 2, kind: 'election.won' }),
    ]);
    expect(store.replicaIds()).toEqual(['A', 'B']);
    expect(store.kinds()).toEqual(['election.won', 'isr.shrink']);
  });
});

describe('filters', () => {
  it('matches kinds by exact name or dotted prefix', () => {
    expect(kindMatches('election.won', 'election')).toBe(true);
    expect(kindMatches('election.started', 'election')).toBe(true);
    expect(kindMatches('election.won', 'election.won')).toBe(true);
    expect(kindMatches('election.won', 'election.lost')).toBe(false);
    expect(kindMatches('replication.batch', 'replica')).toBe(false);
    expect(kindMatches('replica.caught_up', 'replica')).toBe(true);
    expect(kindMatches('election.won', 'elect*')).toBe(true);
    expect(kindMatches('Election.Won', 'ELECTION')).toBe(true);
  });

  it('parses a typed query into replicas, kinds, words and exclusions', () => {
    expect(parseFilterQuery('r:A,B k:isr  shrink -k:replication -r:C -noise')).toEqual({
      replicas: ['A', 'B'],
      kinds: ['isr'],
      words: ['shrink'],
      notReplicas: ['C'],
      notKinds: ['replication'],
      notWords: ['noise'],
    });
  });

  it('keeps only the events passing every filter', () => {
    const events = [
      event({ replicaId: 'A', seq: 1, timeMs: 1, kind: 'election.won', message: 'A leads epoch 4' }),
      event({
        replicaId: 'B',
        seq: 1,
        timeMs: 2,
        kind: 'isr.shrink',
        message: 'B removes C',
        details: { removed: 'C' },
      }),
      event({ replicaId: 'B', seq: 2, timeMs: 3, kind: 'replication.batch', message: 'appended 10' }),
      event({ replicaId: 'C', seq: 1, timeMs: 4, kind: 'election.started', message: 'C asks' }),
    ];
    const ids = (filters: Parameters<typeof applyFilters>[1]) =>
      applyFilters(events, filters).map((e) => `${e.replicaId}${e.seq}`);
    expect(ids([parseFilterQuery('k:election')])).toEqual(['A1', 'C1']);
    expect(ids([parseFilterQuery('r:b')])).toEqual(['B1', 'B2']);
    expect(ids([parseFilterQuery('removed=c')])).toEqual(['B1']);
    expect(ids([parseFilterQuery('-k:replication')])).toEqual(['A1', 'B1', 'C1']);
    expect(ids([{ replicas: ['B'], kinds: [], words: [] }, parseFilterQuery('k:isr')])).toEqual(['B1']);
    expect(ids([])).toEqual(['A1', 'B1', 'B2', 'C1']);
    expect(matchesFilter(events[0]!, parseFilterQuery('epoch 4'))).toBe(true);
  });

  it('cycles through every value and back to all', () => {
    const seen: (string | undefined)[] = [];
    let current: string | undefined;
    for (let i = 0; i < 4; i++) seen.push((current = cycle(['A', 'B', 'C'], current)));
    expect(seen).toEqual(['A', 'B', 'C', undefined]);
    expect(cycle([], 'A')).toBeUndefined();
  });

  it('offers kind groups in a useful order, unknown groups after', () => {
    expect(
      kindGroups(['replication.batch', 'zeta.x', 'isr.shrink', 'election.won', 'election.started', 'alpha.y']),
    ).toEqual(['election', 'isr', 'replication', 'alpha', 'zeta']);
  });
});
