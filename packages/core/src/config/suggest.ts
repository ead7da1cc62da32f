/**
 * "Did you mean" helpers: edit distance, camelCase -> snake_case, and the closest allowed key or value.
 */

/** Damerau-Levenshtein distance (optimal string alignment) between two strings. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[rows - 1]![cols - 1]!;
}

/** `workerPoolSpecs` -> `worker_pool_specs`, `Worker-Pool-Specs` -> `worker_pool_specs`. */
export function toSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase();
}

function squash(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * The allowed key closest to `key`: its snake_case twin, the same letters with other separators, or a near miss
 * by edit distance. `undefined` when nothing is close enough to be a useful suggestion.
 */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const snake = toSnakeCase(key);
  if (allowed.includes(snake)) return snake;
  const squashed = squash(key);
  const sameLetters = allowed.find((candidate) => squash(candidate) === squashed);
  if (sameLetters !== undefined) return sameLetters;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const threshold = snake.length <= 2 ? 0 : Math.max(1, Math.floor(snake.length / 3));
  for (const candidate of allowed) {
    // The distance is at least the difference in length: skip what cannot be close (a 1 MB key took seconds).
    if (Math.abs(snake.length - candidate.length) > threshold) continue;
    const distance = editDistance(snake, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= threshold ? best : undefined;
}

/**
 * Suggestions for a value that is not in an enum: a case-insensitive match, the allowed values that contain it as a
 * `_`-separated part (`T4` -> `NVIDIA_TESLA_T4`), or the nearest by edit distance. At most three.
 */
export function closestEnumValues(value: string, allowed: readonly string[]): string[] {
  const upper = value.trim().toUpperCase().replace(/[-\s]/g, '_');
  const exact = allowed.find((candidate) => candidate.toUpperCase() === upper);
  if (exact !== undefined) return [exact];
  if (upper.length >= 2) {
    const containing = allowed.filter((candidate) => `_${candidate}_`.includes(`_${upper}_`));
    if (containing.length > 0 && containing.length <= 3) return containing;
  }
  const limit = Math.max(2, Math.floor(upper.length / 4));
  const near = allowed
    .filter((candidate) => Math.abs(upper.length - candidate.length) <= limit)
    .map((candidate) => ({ candidate, distance: editDistance(upper, candidate) }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 3)
    .map(({ candidate }) => candidate);
  return near;
}

/** `a`, `a` or `b`, `a`, `b` or `c` — with backticks. */
export function orList(values: readonly string[]): string {
  const quoted = values.map((v) => `\`${v}\``);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/**
 * The candidates nearest to `wanted` by edit distance (all at the same, smallest distance; at most 3), when that
 * distance is small enough to be a typo.
 */
export function nearestByEditDistance(wanted: string, candidates: readonly string[]): string[] {
  // Long input is no typo of a short name (and the distance is quadratic): nothing to suggest.
  if (wanted.length > 100) return [];
  const threshold = Math.max(2, Math.floor(wanted.length / 4));
  const scored = candidates
    .filter((candidate) => Math.abs(candidate.length - wanted.length) <= threshold)
    .map((candidate) => ({ candidate, distance: editDistance(wanted, candidate) }));
  const best = Math.min(...scored.map((s) => s.distance));
  if (!(best <= threshold)) return [];
  return scored
    .filter((s) => s.distance === best)
    .slice(0, 3)
    .map((s) => s.candidate);
}
