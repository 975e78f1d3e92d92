// Counts in words: the one place a number meets its noun, so no screen says "1 runs".

/** Nouns whose plural is not the singular plus "s". */
const IRREGULAR: Record<string, string> = {
  entry: "entries",
};

/** The noun for `n` of it: "run" for 1, "runs" otherwise (0 included, as English has it).
 * `plural` overrides the rule for nouns it does not know. */
export function noun(n: number, singular: string, plural?: string): string {
  if (n === 1) return singular;
  return plural ?? IRREGULAR[singular] ?? `${singular}s`;
}

/** `n` and its noun: "1 run", "1,000 runs", "1 consecutive failure". The adjective (if any)
 * goes between the number and the noun and does not change. */
export function count(n: number, singular: string, options: { plural?: string; adjective?: string } = {}): string {
  const words = options.adjective === undefined ? noun(n, singular, options.plural) : `${options.adjective} ${noun(n, singular, options.plural)}`;
  return `${n.toLocaleString("en")} ${words}`;
}
