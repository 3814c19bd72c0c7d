import { describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { LIKE_ESCAPE, matchesWildcard, wildcardToGlob, wildcardToLike } from '../../src/server/chat/wildcard.js';
import { usernameKey } from '../../src/server/chat/validation.js';

const NAMES = [
  'alice',
  'Alice2',
  'a_b',
  'axb',
  'a%b',
  'aXXb',
  'ab',
  'bob',
  'a.b',
  'a[b',
  'a]b',
  'a\\b',
  'A_B',
  'carol-x',
];

/** The names SQLite selects with each translation, and in memory. */
function selections(pattern: string): { glob: string[]; like: string[]; memory: string[] } {
  const db = new BetterSqlite3(':memory:');
  try {
    db.exec('CREATE TABLE n (name TEXT, name_key TEXT)');
    const insert = db.prepare('INSERT INTO n VALUES (?, ?)');
    for (const name of NAMES) insert.run(name, usernameKey(name));
    const glob = db
      .prepare('SELECT name FROM n WHERE name_key GLOB ? ORDER BY name')
      .pluck()
      .all(wildcardToGlob(pattern)) as string[];
    const like = db
      .prepare(`SELECT name FROM n WHERE name LIKE ? ESCAPE '${LIKE_ESCAPE}' ORDER BY name`)
      .pluck()
      .all(wildcardToLike(pattern)) as string[];
    const memory = NAMES.filter((n) => matchesWildcard(pattern, n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { glob, like, memory };
  } finally {
    db.close();
  }
}

describe('wildcard patterns', () => {
  it.each([
    ['a_b', ['A_B', 'a_b']],
    ['a?b', ['A_B', 'a%b', 'a.b', 'a[b', 'a\\b', 'a]b', 'a_b', 'axb']],
    ['a*b', ['A_B', 'a%b', 'a.b', 'a[b', 'a\\b', 'a]b', 'aXXb', 'a_b', 'ab', 'axb']],
    ['ALICE', ['alice']],
    ['alice*', ['Alice2', 'alice']],
    ['*-*', ['carol-x']],
    ['a.b', ['a.b']],
    ['a%b', ['a%b']],
    ['a[b', ['a[b']],
    ['a]b', ['a]b']],
    ['a\\b', ['a\\b']],
    ['?', []],
  ])('%j selects exactly %j in GLOB, LIKE and memory', (pattern, expected) => {
    const { glob, like, memory } = selections(pattern);
    const sorted = [...expected].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(glob).toEqual(sorted);
    expect(like).toEqual(sorted);
    expect(memory).toEqual(sorted);
  });

  it('treats the empty pattern as everything', () => {
    const { glob, like, memory } = selections('');
    expect(glob).toHaveLength(NAMES.length);
    expect(like).toHaveLength(NAMES.length);
    expect(memory).toHaveLength(NAMES.length);
  });

  it('escapes in the translated text', () => {
    expect(wildcardToGlob('A_b*?')).toBe('a_b*?');
    expect(wildcardToGlob('a[b]')).toBe('a[[]b[]]');
    expect(wildcardToLike('a_b%c*?')).toBe('a\\_b\\%c%_');
  });
});
