/**
 * Account-name wildcard patterns: `*` matches any run of characters (also none),
 * `?` exactly one character, everything else itself; matching ignores ASCII case
 * (usernames are ASCII). An empty pattern matches every name.
 */

import { usernameKey } from './validation.js';

/**
 * A SQLite GLOB pattern equivalent to `pattern`, to be matched against the
 * lowered name (`usernameKey(name)`), e.g. `name_key GLOB ?`. GLOB's own
 * wildcards are `*`, `?` and `[...]`; brackets are escaped as one-character sets,
 * so every other character, `_` and `%` included, matches only itself.
 * A literal prefix lets SQLite use an index on the lowered name.
 */
export function wildcardToGlob(pattern: string): string {
  if (pattern === '') return '*';
  let out = '';
  for (const ch of usernameKey(pattern)) {
    if (ch === '[') out += '[[]';
    else if (ch === ']') out += '[]]';
    else out += ch;
  }
  return out;
}

/** The escape character used by `wildcardToLike`; write `LIKE ? ESCAPE '\'`. */
export const LIKE_ESCAPE = '\\';

/**
 * A SQLite LIKE pattern equivalent to `pattern`, for `name LIKE ? ESCAPE '\'`
 * (LIKE ignores ASCII case by default). `%`, `_` and the escape character itself
 * are escaped, so they match only themselves.
 */
export function wildcardToLike(pattern: string): string {
  if (pattern === '') return '%';
  let out = '';
  for (const ch of pattern) {
    if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else if (ch === '%' || ch === '_' || ch === LIKE_ESCAPE) out += LIKE_ESCAPE + ch;
    else out += ch;
  }
  return out;
}

/** Whether `name` matches `pattern`, ignoring ASCII case (same rules as the SQL forms). */
export function matchesWildcard(pattern: string, name: string): boolean {
  return wildcardToRegExp(pattern).test(usernameKey(name));
}

/**
 * A regular expression equivalent to `pattern`, anchored at both ends, to be
 * tested against the lowered name (`usernameKey(name)`).
 */
export function wildcardToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of usernameKey(pattern === '' ? '*' : pattern)) {
    if (ch === '*') source += '[^]*';
    else if (ch === '?') source += '[^]';
    else source += ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}
