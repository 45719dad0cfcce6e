import { github } from './github/index.ts';
import { hmac } from './hmac/index.ts';
import { ownSource } from './hookline/index.ts';
import { meru } from './meru/index.ts';
import { muro } from './muro/index.ts';
import { shopify } from './shopify/index.ts';
import { standardWebhooks } from './standard-webhooks/index.ts';
import { stripe } from './stripe/index.ts';
import type { PresetName, SourcePreset, SourceScheme } from './types.ts';

export type * from './types.ts';
export { findSample } from './samples.ts';

/** Every provider hookline knows, by the name a source's `preset:` uses. */
export const presets = {
  muro,
  meru,
  'standard-webhooks': standardWebhooks,
  github,
  stripe,
  shopify,
  hmac,
} as const satisfies Record<PresetName, SourcePreset>;

export const presetNames = Object.keys(presets) as PresetName[];

export { ownSource } from './hookline/index.ts';

/** A source key or preset that cannot be used; the message says what to write instead. */
export class SourcePresetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourcePresetError';
  }
}

function isPreset(name: string): name is PresetName {
  return Object.hasOwn(presets, name);
}

/** The preset of the source `key`: its `preset:`, else the key itself for muro and meru. */
export function presetFor(key: string, config: { preset?: string | undefined }): SourcePreset {
  if (key === ownSource) throw new SourcePresetError(`the source name "${ownSource}" is reserved for hookline's own events; choose another name`);
  const name = config.preset ?? key;
  if (isPreset(name) && (config.preset !== undefined || name === 'muro' || name === 'meru')) return presets[name];
  if (config.preset !== undefined) throw new SourcePresetError(`source "${key}": unknown preset "${config.preset}"; use one of ${presetNames.join(', ')}`);
  throw new SourcePresetError(`source "${key}": set preset: to one of ${presetNames.join(', ')} (only muro and meru default to their key)`);
}

/** A configured source compiled: its preset's own keys are read from `config` (other keys are left to the config schema). */
export function createSource(key: string, config: Record<string, unknown> & { preset?: string }): SourceScheme {
  const preset = presetFor(key, config);
  return preset.create(preset.options.parse(config));
}

/** The signature headers of every preset with fixed names (hmac's is configured), for the logger's redaction paths. */
export const knownSignatureHeaders: readonly string[] = presetNames
  .filter((name) => name !== 'hmac')
  .flatMap((name) => createSource(name, { preset: name }).signatureHeaders);
