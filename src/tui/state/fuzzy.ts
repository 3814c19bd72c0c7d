/** Fuzzy matching of names, for the quick switcher: the letters typed, in order, not necessarily together. */

/**
 * How well `query` matches `name` (case-insensitively), or undefined when its
 * letters do not all appear in order. Runs of adjacent letters and a match at
 * the start score higher; shorter names win ties.
 */
export function fuzzyScore(query: string, name: string): number | undefined {
  const q = query.toLowerCase();
  const n = name.toLowerCase();
  if (q === '') return 0;
  let score = 0;
  let qi = 0;
  let previous = -2;
  for (let i = 0; i < n.length && qi < q.length; i++) {
    if (n[i] !== q[qi]) continue;
    score += 1;
    if (i === previous + 1) score += 2;
    if (i === 0) score += 3;
    previous = i;
    qi++;
  }
  if (qi < q.length) return undefined;
  return score - n.length / 100;
}

/** The items whose name matches, best first; equal scores keep their order. */
export function fuzzyFilter<T>(items: readonly T[], query: string, nameOf: (item: T) => string): T[] {
  return items
    .map((item, index) => ({ item, index, score: fuzzyScore(query, nameOf(item)) }))
    .filter((x): x is { item: T; index: number; score: number } => x.score !== undefined)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map((x) => x.item);
}
