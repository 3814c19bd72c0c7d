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
