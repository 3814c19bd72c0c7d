/**
 * A small lab of network namespaces for the multi-host test: one namespace
 * per host, each with one veth "cable" to a bridge that lives in a switch
 * namespace of its own. Every address (10.200.0.0/24) exists only inside
 * these namespaces: nothing is added to the root namespace, and no traffic
 * leaves the lab. A host's cable can be unplugged (cut/restore), a host's
 * packets to some others dropped (oneWayCut), and the switch split into
 * groups that cannot reach each other (partition/heal).
 * destroy() removes everything it created.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const LAB_SUBNET = '10.200.0';
/** A locally administered unicast MAC address that no host of the lab has. */
const NOWHERE_MAC = '02:00:00:c0:ff:ee';

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Why this machine cannot run the lab, or undefined when it can (installs iproute2 when missing and root). */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'creating network namespaces needs root (run the suite as root, as CI does)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) {
    const apt = spawnSync(
      'sh',
      ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2'],
      { stdio: 'ignore', timeout: 180_000 },
    );
    if (apt.status !== 0 || spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0)
      return 'the `ip` command (iproute2) is missing and could not be installed with apt-get';
  }
  const probe = `chatprobe${randomBytes(3).toString('hex')}`;
  try {
    ip(['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  }
  return undefined;
}

export interface LabHost {
  name: string;
  namespace: string;
  address: string;
  /** The switch-side end of the host's cable (cut it to unplug the host). */
  port: string;
}

export class NetnsLab {
  readonly hosts = new Map<string, LabHost>();
  readonly switchNs: string;
  private readonly tag = randomBytes(2).toString('hex');
  private readonly created: string[] = [];
  private readonly bridges: string[] = [];

  constructor() {
    this.switchNs = `chatlab-${this.tag}-sw`;
  }

  /** Creates the switch and one host per name, with addresses .1, .2, ... in order. */
  create(names: string[]): void {
    ip(['netns', 'add', this.switchNs]);
    this.created.push(this.switchNs);
    ip(['-n', this.switchNs, 'link', 'set', 'lo', 'up']);
    ip(['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
    names.forEach((name, i) => {
      const namespace = `chatlab-${this.tag}-${name}`;
      const hostEnd = `cl${this.tag}${name}h`.slice(0, 15);
      const port = `cl${this.tag}${name}s`.slice(0, 15);
      const address = `${LAB_SUBNET}.${i + 1}`;
      ip(['netns', 'add', namespace]);
      this.created.push(namespace);
      // The pair is created with each end directly in its namespace: it never appears in the root namespace.
      ip(['link', 'add', hostEnd, 'netns', namespace, 'type', 'veth', 'peer', 'name', port, 'netns', this.switchNs]);
      ip(['-n', this.switchNs, 'link', 'set', port, 'master', 'br0']);
      ip(['-n', this.switchNs, 'link', 'set', port, 'up']);
      ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
      ip(['-n', namespace, 'link', 'set', hostEnd, 'name', 'eth0']);
      ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
      this.hosts.set(name, { name, namespace, address, port });
    });
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the lab`);
    return h;
  }

  /** The command line that runs `argv` inside the host's namespace. */
  command(name: string, argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.host(name).namespace, ...argv];
  }

  /** Unplugs the host's cable at the switch (its packets go nowhere; no connection is reset). */
  cut(name: string): void {
    ip(['-n', this.switchNs, 'link', 'set', this.host(name).port, 'down']);
  }

  restore(name: string): void {
    ip(['-n', this.switchNs, 'link', 'set', this.host(name).port, 'up']);
  }

  /**
   * A one-way cut: `from`'s packets to the hosts `to` go nowhere, while theirs
   * still reach `from`. Done with iproute2 alone: in `from`'s namespace each of
   * their addresses is pinned to a MAC address no host has (the bridge floods
   * such frames and every host drops them). oneWayRestore(from, to) undoes it.
   */
  oneWayCut(from: string, to: string[]): void {
    for (const name of to)
      ip([
        '-n',
        this.host(from).namespace,
        'neigh',
        'replace',
        this.host(name).address,
        'lladdr',
        NOWHERE_MAC,
        'dev',
        'eth0',
        'nud',
        'permanent',
      ]);
  }

  oneWayRestore(from: string, to: string[]): void {
    for (const name of to)
      ip(['-n', this.host(from).namespace, 'neigh', 'del', this.host(name).address, 'dev', 'eth0']);
  }

  /**
   * Splits the switch in two or more: the hosts of each group after the first
   * are moved onto a bridge of their own, so hosts talk within their group and
   * packets to any other group go nowhere (no connection is reset). Hosts in no
   * group stay on the main bridge, with the first group. heal() undoes it.
   */
  partition(groups: string[][]): void {
    this.heal();
    groups.slice(1).forEach((group, i) => {
      const bridge = `br${i + 1}`;
      ip(['-n', this.switchNs, 'link', 'add', bridge, 'type', 'bridge']);
      ip(['-n', this.switchNs, 'link', 'set', bridge, 'up']);
      this.bridges.push(bridge);
      for (const name of group) ip(['-n', this.switchNs, 'link', 'set', this.host(name).port, 'master', bridge]);
    });
  }

  /** Puts every host back on the main bridge and removes the partition's bridges. */
  heal(): void {
    for (const h of this.hosts.values()) ip(['-n', this.switchNs, 'link', 'set', h.port, 'master', 'br0']);
    for (const bridge of this.bridges.splice(0)) ip(['-n', this.switchNs, 'link', 'del', bridge]);
  }

  /** Deletes every namespace it created (their veth ends and the bridge go with them). Safe to call twice. */
  destroy(): void {
    for (const ns of this.created.splice(0).reverse())
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
  }

  /** Namespaces of this lab still present (for the test's own cleanup check). */
  leftovers(): string[] {
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    return list
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(`chatlab-${this.tag}-`));
  }
}
