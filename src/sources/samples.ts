import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleEvent, SourceScheme } from './types.ts';

/**
 * Sample events are JSON files named for what they show (`issues.opened.json`); `typeOf` says
 * which event type each stands for. The `preferred` samples come first, so that a type's first
 * sample is the one `hookline send <source> <type>` posts.
 */
export function loadSamples(
  dir: string,
  typeOf: (name: string, body: Record<string, unknown>) => string,
  preferred: readonly string[] = [],
): () => Readonly<Record<string, SampleEvent>> {
  let loaded: Record<string, SampleEvent> | undefined;
  return () => {
    if (loaded) return loaded;
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    loaded = {};
    for (const name of names) {
      const body = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Record<string, unknown>;
      loaded[name] = Object.freeze({ type: typeOf(name, body), body });
    }
    return loaded;
  };

  function rank(name: string): number {
    const at = preferred.indexOf(name);
    return at < 0 ? preferred.length : at;
  }
}

/** A sample by exact name, else the first of a type, else the first whose name starts with `<name>.`. */
export function findSample(scheme: Pick<SourceScheme, 'samples'>, name: string): SampleEvent | undefined {
  const samples = Object.entries(scheme.samples());
  const found =
    samples.find(([n]) => n === name) ?? samples.find(([, s]) => s.type === name) ?? samples.find(([n]) => n.startsWith(`${name}.`));
  return found && { type: found[1].type, body: structuredClone(found[1].body) };
}

/** The ISO time of a unix second, as providers write timestamps in bodies. */
export function isoTime(nowSec: number): string {
  return new Date(nowSec * 1000).toISOString();
}
