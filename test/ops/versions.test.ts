import { describe, expect, it } from 'vitest';
import { printStatus } from '../../src/ops/commands/status.js';
import { statusJson } from '../../src/ops/model/health.js';
import { versionSpread } from '../../src/ops/model/versions.js';
import { PeerVersions } from '../../src/server/peer-versions.js';
import { down, healthyProbes, statusView, up } from './fixtures.js';

function printed(probes: Parameters<typeof printStatus>[0]): { out: string; code: number } {
  let out = '';
  const code = printStatus(probes, { out: (t) => void (out += t), err: () => undefined, columns: 200 }, false);
  return { out, code };
}

describe('mixed versions in a status sweep', () => {
  it('says nothing when every replica runs the same build', () => {
    expect(versionSpread(healthyProbes()).mixed).toBe(false);
    expect(printed(healthyProbes()).out).not.toContain('mixed versions');
  });

  it('flags an upgraded replica beside old ones, without making the cluster unhealthy', () => {
    const probes = healthyProbes();
    probes[2] = up(statusView({ id: 'C', commit: 'fedcba987654' }));
    const spread = versionSpread(probes);
    expect(spread.mixed).toBe(true);
    expect(spread.builds).toEqual([
      { build: '0.1.0 (commit 0123456, peer protocol 2)', replicas: ['A', 'B'] },
      { build: '0.1.0 (commit fedcba9, peer protocol 2)', replicas: ['C'] },
    ]);
    const { out, code } = printed(probes);
    expect(code).toBe(0);
    expect(out).toContain(
      'note: mixed versions: A, B run 0.1.0 (commit 0123456, peer protocol 2); C runs 0.1.0 (commit fedcba9, peer protocol 2)',
    );
    expect(statusJson(probes)).toMatchObject({ healthy: true, mixedVersions: true });
  });

  it('names a replica of peer protocol 1, which states no commit, and one that is down from what its peers heard', () => {
    const probes = [
      up(
        statusView({
          id: 'A',
          role: 'leader',
          peerBuilds: [{ id: 'C', version: '', commit: '', protocolVersion: 0, lastSeenMsAgo: 900 }],
        }),
      ),
      up(statusView({ id: 'B', commit: '', protocolVersion: 0 })),
      down('127.0.0.1:50053'),
    ];
    expect(versionSpread(probes).builds).toEqual([
      { build: '0.1.0 (commit 0123456, peer protocol 2)', replicas: ['A'] },
      { build: '0.1.0 (peer protocol 1)', replicas: ['B'] },
      { build: 'an older build (peer protocol 1)', replicas: ['C'] },
    ]);
  });
});

describe('PeerVersions', () => {
  it('reports a peer once per build, says when the builds differ, and lists who lacks a protocol', () => {
    const reports: string[] = [];
    const versions = new PeerVersions({ version: '0.1.0', commit: 'aaaaaaaaaaaa', protocol: 2 }, (message) =>
      reports.push(message),
    );
    versions.heard('B', '0.1.0', 'aaaaaaaaaaaa', 2, 1);
    versions.heard('B', '0.1.0', 'aaaaaaaaaaaa', 2, 2);
    versions.heard('C', '', '', 0, 3);
    versions.heard('C', '0.1.0', 'bbbbbbbbbbbb', 2, 4);
    expect(reports).toEqual([
      'B runs 0.1.0 (commit aaaaaaaaaaaa, peer protocol 2), as this replica does',
      'C runs a build of peer protocol 1 (before replicas stated their versions); this replica runs 0.1.0 (commit aaaaaaaaaaaa, peer protocol 2): the cluster runs mixed versions',
      'C now runs 0.1.0 (commit bbbbbbbbbbbb, peer protocol 2), before a build of peer protocol 1 (before replicas stated their versions); this replica runs 0.1.0 (commit aaaaaaaaaaaa, peer protocol 2): the cluster runs mixed versions',
    ]);
    expect(versions.get('B')?.lastSeen).toBe(2);
    versions.heard('E', '', '', 0, 5);
    expect(versions.olderThan(['B', 'C', 'D', 'E'], 2)).toEqual(['E']);
  });

  it('keeps what an untrusted peer states bounded', () => {
    const versions = new PeerVersions({ version: '1', commit: 'x', protocol: 2 }, () => undefined);
    for (let i = 0; i < 200; i++) versions.heard(`R${i}`, 'v'.repeat(10_000), 'c', 2, i);
    expect(versions.all()).toHaveLength(64);
    expect(versions.get('R199')?.version).toHaveLength(64);
    expect(versions.get('R0')).toBeUndefined();
  });
});
