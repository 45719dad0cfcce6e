import { z } from 'zod';
import { ownSource } from '../sources/hookline/index.ts';
import { sourceName } from '../sources/config.ts';
import { configSchema } from './schema.ts';

/** JSON Schema of what an operator writes (the input side: durations as strings, defaults shown). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = allowInterpolation(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' })) as { properties: { sources: Record<string, unknown> } };
  // Source names: what recipes write before the / (validated at load; zod cannot say it of a record's keys).
  schema.properties.sources.propertyNames = { pattern: sourceName.source, not: { const: ownSource } };
  return {
    ...schema,
    $id: 'https://hookline.dev/schema/config.schema.json',
    title: 'hookline configuration',
  };
}

const interpolated = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}', description: 'an environment variable: ${VAR} or ${VAR:-default}' };

/**
 * Any scalar may be written as ${VAR} in the config, which hookline substitutes before validating.
 * Editors see the file before substitution, so typed or patterned scalars also accept that form.
 */
function allowInterpolation(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowInterpolation);
  if (typeof node !== 'object' || node === null) return node;
  const copy = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'default' ? v : allowInterpolation(v)]));
  const constrained = ['number', 'integer', 'boolean'].includes(copy.type as string) || 'pattern' in copy || 'enum' in copy;
  if (!constrained) return copy;
  const { default: fallback, description, ...rest } = copy;
  return {
    ...(fallback === undefined ? {} : { default: fallback }),
    ...(description === undefined ? {} : { description }),
    anyOf: [rest, interpolated],
  };
}
