import { positionOf, parseYaml } from '../config/yaml.ts';
import type { Diagnostic } from '../errors.ts';
import type { EventSource } from '../sources/configured.ts';
import { eventMatcher } from './match.ts';

/**
 * Warnings (not errors) for `on` and `wait_for.event` patterns that match no event type their
 * source is known to send (`meru/email.recieved` passes the schema but would never run), or no
 * configured source at all. `sources`: the configured ones and hookline's own (eventSourcesOf).
 */
export function eventTypeWarnings(file: string, text: string, sources: readonly EventSource[]): Diagnostic[] {
  const yaml = parseYaml(file, text);
  const recipe = yaml.doc.toJS() as { on?: unknown; steps?: unknown } | null;
  if (typeof recipe !== 'object' || recipe === null) return [];
  const patterns: Array<{ path: Array<string | number>; pattern: unknown; consequence: string }> = [];
  if (Array.isArray(recipe.on)) recipe.on.forEach((pattern, i) => patterns.push({ path: ['on', i], pattern, consequence: 'this recipe would never run on it' }));
  else patterns.push({ path: ['on'], pattern: recipe.on, consequence: 'this recipe would never run' });
  if (Array.isArray(recipe.steps)) {
    recipe.steps.forEach((step: { wait_for?: { event?: unknown } } | null, i) => {
      if (step?.wait_for?.event !== undefined) patterns.push({ path: ['steps', i, 'wait_for', 'event'], pattern: step.wait_for.event, consequence: 'this wait would always time out' });
    });
  }
  return patterns.flatMap(({ path, pattern, consequence }) => {
    if (typeof pattern !== 'string' || !pattern.includes('/')) return []; // the schema reports these
    const problem = unsent(pattern, sources);
    return problem ? [{ file, ...positionOf(yaml, path), message: `${path.join('.')}: ${problem}: ${consequence}` }] : [];
  });
}

/** Why no source sends what `pattern` matches, or undefined when some source does (or hookline cannot tell). */
function unsent(pattern: string, all: readonly EventSource[]): string | undefined {
  const matcher = eventMatcher(pattern);
  // The sources the pattern addresses (a glob always matches its own text, so this tests the source part).
  const addressed = all.filter((s) => matcher.matches(s.name, matcher.type));
  if (addressed.length === 0) return `no source "${matcher.source}" is configured (sources: ${all.map((s) => s.name).join(', ')})`;
  // A source whose types are not a known, closed set (GitHub, Stripe, hmac ...) may send anything.
  if (addressed.some((s) => !s.eventTypes)) return undefined;
  const sources = addressed.map((s) => [s.name, s.eventTypes!] as const);
  if (sources.some(([source, types]) => types.some((type) => matcher.matches(source, type)))) return undefined;

  const what = matcher.type.includes('*') ? `anything matching "${matcher.type}"` : `"${matcher.type}"`;
  const known = sources.flatMap(([, types]) => types);
  const closest = matcher.type.includes('*') ? undefined : known.find((type) => distance(type, matcher.type) <= 2);
  const hint = closest ? `; did you mean ${matcher.source}/${closest}?` : '';
  if (sources.length > 1) return `no source sends ${what}${hint ? ` (${hint.slice(2)})` : ''}`;
  const [source, types] = sources[0]!;
  return `${source} does not send ${what} (it sends ${types.length === 1 ? 'only ' : ''}${types.join(', ')}${hint})`;
}

/** Levenshtein distance, for "did you mean" on a typo. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
