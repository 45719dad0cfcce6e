import type { SourceConfig } from './config.ts';
import { hookline, ownSource } from './hookline/index.ts';
import { createSource, presetFor } from './index.ts';
import type { SourcePreset, SourceScheme, TranscriptExpressions } from './types.ts';

/** A source of the config, compiled: the one object the receiver, `send`, the console and recipe tests ask about a provider. */
export interface ConfiguredSource {
  readonly name: string;
  readonly config: SourceConfig;
  readonly preset: SourcePreset;
  readonly scheme: SourceScheme;
}

type Sources = Readonly<Record<string, SourceConfig>>;

const compiled = new WeakMap<Sources, Map<string, ConfiguredSource>>();

function compile(sources: Sources): Map<string, ConfiguredSource> {
  let byName = compiled.get(sources);
  if (!byName) {
    byName = new Map(Object.entries(sources).map(([name, source]) => [name, { name, config: source, preset: presetFor(name, source), scheme: createSource(name, source) }]));
    compiled.set(sources, byName);
  }
  return byName;
}

/** Every configured source (enabled or not), compiled once per config (a reload brings a new one). */
export function sourcesOf(config: { sources: Sources }): ConfiguredSource[] {
  return [...compile(config.sources).values()];
}

/** The configured source of that name, or undefined. */
export function sourceNamed(config: { sources: Sources }, name: string): ConfiguredSource | undefined {
  return compile(config.sources).get(name);
}

/** What recipes can name after `on:`: the configured sources and hookline's own events, with what is known of their types and samples. */
export interface EventSource {
  name: string;
  /** The types it sends, where the set is closed and known (else any type may come). */
  eventTypes?: readonly string[] | undefined;
  scheme: Pick<SourceScheme, 'samples' | 'testEvent' | 'identify'>;
  /** False for hookline's own events: they are never received over HTTP. */
  receivable: boolean;
}

export function eventSourcesOf(config: { sources: Sources }): EventSource[] {
  return [
    ...sourcesOf(config).map((s) => ({ name: s.name, eventTypes: s.scheme.eventTypes, scheme: s.scheme, receivable: true })),
    { name: ownSource, eventTypes: hookline.eventTypes, scheme: hookline, receivable: false },
  ];
}

/** The transcript expressions of the sources that carry conversations (muro's preset), by source name. */
export function transcriptsOf(config: { sources: Sources }): Record<string, TranscriptExpressions> {
  return Object.fromEntries(sourcesOf(config).flatMap((s) => (s.scheme.transcript ? [[s.name, s.scheme.transcript]] : [])));
}
