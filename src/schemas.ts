import { z } from 'zod';
import { builtinActions } from './actions/registry.ts';
import { configJsonSchema } from './config/json-schema.ts';
import { recipeSchema } from './recipes/schema.ts';

/** Every JSON Schema shipped in schema/, by file name; editors validate the YAML files with them. */
export function generatedSchemas(): Record<string, Record<string, unknown>> {
  return {
    'schema/config.schema.json': configJsonSchema(),
    'schema/recipe.schema.json': {
      ...z.toJSONSchema(recipeSchema(builtinActions), { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
      $id: 'https://hookline.dev/schema/recipe.schema.json',
      title: 'hookline recipe',
    },
  };
}
