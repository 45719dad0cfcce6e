import { configJsonSchema } from './config/json-schema.ts';

/** Every JSON Schema shipped in schema/, by file name; editors validate the YAML files with them. */
export function generatedSchemas(): Record<string, Record<string, unknown>> {
  return { 'schema/config.schema.json': configJsonSchema() };
}
