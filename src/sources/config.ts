import { z } from 'zod';
import { duration } from '../config/units.ts';
import { createSource, ownSource, presetNames, presets } from './index.ts';
import type { PresetName, SourcePreset, SourceScheme } from './types.ts';

/**
 * The `sources:` map of the config (PRODUCT §9): any number of sources, each keyed by the name recipes
 * use, each a preset with the keys every source has (below) and the preset's own. Validation, defaults
 * and the JSON Schema for editors (a union discriminated by `preset`) come from this one definition.
 */

/** Empty strings (unset variables) are dropped: a source with no secret left is "not configured". */
const secretList = z
  .array(z.union([z.string(), z.null()]))
  .transform((list) => list.filter((s): s is string => typeof s === 'string' && s.length > 0))
  .meta({ description: 'HMAC secrets; several during a rotation. Empty entries (unset variables) are ignored.' });

/** The keys of every source, whatever its preset. */
const common = {
  enabled: z.boolean().default(true).meta({ description: 'receive this source at all' }),
  path: z.string().startsWith('/').optional().meta({ description: 'the URL path the provider posts to (default /<name>/webhook)' }),
  secrets: secretList.default([]),
  tolerance: duration.default(300_000).meta({ description: 'accepted clock skew of the signature timestamp, either way (for providers that sign one)' }),
  dedup_ttl: duration.default(86_400_000).meta({ description: 'how long an event id is remembered for deduplication' }),
  alert_after: duration
    .default(300_000)
    .meta({ description: 'emit hookline/source.rejecting once deliveries have failed on their signature alone, with none accepted, for this long (a wrong secret)' }),
};

/** A source name: recipes write `<name>/<type>`, URLs and metric labels carry it. */
export const sourceName = /^[a-z0-9][a-z0-9_-]{0,63}$/;

interface CommonKeys {
  enabled: boolean;
  secrets: string[];
  tolerance: number;
  dedup_ttl: number;
  alert_after: number;
}

/** What a configured source is once validated: its preset and path resolved, the preset's own keys beside the common ones. */
export interface SourceConfig extends CommonKeys {
  preset: PresetName;
  path: string;
  [presetKey: string]: unknown;
}

const presetKey = (preset: SourcePreset) => z.literal(preset.name).meta({ description: preset.description });

/** One schema object per preset (under its own id in the JSON Schema's $defs, shared by every key). */
const entries = new Map<PresetName, ReturnType<typeof makeEntry>>();

function makeEntry(preset: SourcePreset) {
  return z
    .object({ preset: presetKey(preset), ...common, ...preset.options.shape })
    .strict()
    .meta({ id: `source-${preset.name}`, description: preset.description });
}

function entry(preset: SourcePreset) {
  let schema = entries.get(preset.name);
  if (!schema) entries.set(preset.name, (schema = makeEntry(preset)));
  return schema;
}

/** The entry of a source named like its preset (muro, meru): `preset:` may be left out. */
function keyedEntry(preset: SourcePreset) {
  return entry(preset).extend({ preset: presetKey(preset).optional() }).meta({ id: `source-${preset.name}-by-key`, description: preset.description });
}

const presetList = presetNames.join(', ');
const presetError = (issue: z.core.$ZodRawIssue) => {
  if (issue.code !== 'invalid_union') return undefined;
  const given = (issue.input as { preset?: unknown } | undefined)?.preset;
  return typeof given === 'string'
    ? `unknown preset "${given}"; use one of ${presetList}`
    : `set preset: to one of ${presetList} (only muro and meru default to their key)`;
};

/** A source under any other key: `preset:` is required. */
const anyPreset = z.discriminatedUnion('preset', presetNames.map((n) => entry(presets[n])) as [ReturnType<typeof entry>], { error: presetError });

/** The sources named like a preset whose preset defaults to their key (muro, meru). */
function keyedPreset(key: PresetName) {
  const options = [keyedEntry(presets[key]), ...presetNames.filter((n) => n !== key).map((n) => entry(presets[n]))];
  return z.discriminatedUnion('preset', options as [ReturnType<typeof keyedEntry>, ReturnType<typeof entry>], { error: presetError }).optional();
}

/** What an operator writes for one source (the schema checks each preset's own keys). */
export interface SourceInput {
  preset?: PresetName;
  enabled?: boolean;
  path?: string;
  secrets?: Array<string | null>;
  tolerance?: string | number;
  dedup_ttl?: string | number;
  alert_after?: string | number;
  [presetKey: string]: unknown;
}

const sourcesMap = z
  .object({ muro: keyedPreset('muro'), meru: keyedPreset('meru') })
  .catchall(anyPreset)
  .superRefine((sources, ctx) => {
    const byPath = new Map<string, string>();
    for (const [name, value] of Object.entries(sources)) {
      if (value === undefined) continue;
      const source = value as unknown as Record<string, unknown> & { preset?: PresetName; path?: string; enabled: boolean; secrets: string[] };
      if (name === ownSource) {
        ctx.addIssue({ code: 'custom', path: [name], message: `the source name "${ownSource}" is reserved for hookline's own events; choose another name` });
        continue;
      }
      if (!sourceName.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'a source name is lower-case letters, digits, - and _ (recipes write <name>/<type>)' });
        continue;
      }
      const path = source.path ?? defaultPath(name);
      const taken = byPath.get(path);
      if (taken !== undefined && source.enabled) ctx.addIssue({ code: 'custom', path: [name, 'path'], message: `${path} is already the path of source ${taken}; give each source its own path` });
      if (source.enabled) byPath.set(path, name);
      // The entry may have problems of its own (reported already): then its secrets are not judged.
      let scheme: SourceScheme;
      try {
        scheme = createSource(name, { ...source, preset: source.preset ?? (name as PresetName) });
      } catch {
        continue;
      }
      (Array.isArray(source.secrets) ? source.secrets : []).forEach((secret, i) => {
        const problem = scheme.secretProblem(secret);
        if (problem) ctx.addIssue({ code: 'custom', path: [name, 'secrets', i], message: problem });
      });
    }
  })
  .transform((sources) => {
    const resolved: Record<string, SourceConfig> = {};
    for (const [name, value] of Object.entries(sources)) {
      if (value === undefined) continue;
      const source = value as unknown as CommonKeys & { preset?: PresetName; path?: string };
      resolved[name] = { ...source, preset: source.preset ?? (name as PresetName), path: source.path ?? defaultPath(name) };
    }
    return resolved;
  })
  .meta({ description: 'the webhook sources, by the name recipes use (on: <name>/<type>); muro and meru default to their own preset' });

/** Typed as a map of sources: TypeScript cannot say "any key, but muro and meru may leave preset out". */
export const sourcesSchema = sourcesMap as unknown as z.ZodType<Record<string, SourceConfig>, Record<string, SourceInput>>;

export function defaultPath(name: string): string {
  return `/${name}/webhook`;
}
