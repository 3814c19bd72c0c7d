import { describe, expect, it } from 'vitest';
import { findTarget, forceWarning } from '../../src/ops/commands/force-leader.js';
import { down, statusView, up } from './fixtures.js';

describe('force-leader warning', () => {
  const b = statusView({
    id: 'B',
    leaderId: '',
    lastIndex: 120,
    lastEpoch: 4,
    commitIndex: 118,
    waitingFor: ['A'],
    waitingReason: 'A may hold newer writes',
  });
  const c = statusView({
    id: 'C',
    leaderId: '',
    lastIndex: 125,
    lastEpoch: 4,
    waitingFor: ['A'],
    waitingReason: 'A may hold newer writes',
  });
  const probes = [down('127.0.0.1:50051'), up(b), up(c)];

  it('finds the target by address or by id', () => {
    expect(findTarget(probes, b.address)?.address).toBe(b.address);
    expect(findTarget(probes, 'c')?.address).toBe(c.address);
    expect(findTarget(probes, 'Z')).toBeUndefined();
  });

  it('names, once each, the replicas whose writes are lost, and what the target holds', () => {
    const text = forceWarning(probes, b, new Map([['127.0.0.1:50051', 'A']])).join('\n');
    expect(text).toContain('Writes held only by A (unreachable or waited for) are LOST');
    expect(text).toContain('log ends at index 120 (epoch 4)');
  });

  it('points at a reachable replica whose log is further ahead', () => {
    expect(forceWarning(probes, b).join('\n')).toContain('Consider forcing C instead');
    expect(forceWarning(probes, c).join('\n')).not.toContain('Consider forcing');
  });
});
