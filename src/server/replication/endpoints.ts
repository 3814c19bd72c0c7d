/** What a replica id and a replica's address may look like, for everything an operator types. */

/** A replica id, an address or another option an operator gave is not usable; the message says why. */
export class ConfigError extends Error {}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const ADDRESS_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export function checkAddress(address: string, what: string): string {
  if (!ADDRESS_PATTERN.test(address)) throw new ConfigError(`${what} "${address}" is not host:port`);
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (port < 1 || port > 65_535) throw new ConfigError(`${what} "${address}" has no valid port`);
  return address;
}

export function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) throw new ConfigError(`replica id "${id}" must be 1-32 letters, digits, _ or -`);
  return id;
}

/** How far a replica's default peer port is from its client port. */
export const PEER_PORT_OFFSET = 1000;

/**
 * Where the other replicas reach a replica whose peer address nobody gave (a
 * configuration from before the peer plane, or a start that names only client
 * addresses): the same host, the port 1000 up (50051 -> 51051), or 1000 down
 * when that would pass 65535. '' for ''.
 */
export function defaultPeerAddress(clientAddress: string): string {
  const colon = clientAddress.lastIndexOf(':');
  if (colon < 0) return '';
  const port = Number(clientAddress.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1) return '';
  const peerPort = port + PEER_PORT_OFFSET <= 65_535 ? port + PEER_PORT_OFFSET : port - PEER_PORT_OFFSET;
  return `${clientAddress.slice(0, colon)}:${peerPort}`;
}
