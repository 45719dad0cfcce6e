// Writes schema/*.schema.json from the zod definitions; a test fails when they are out of date.
import { writeFileSync } from 'node:fs';
import { generatedSchemas } from '../src/schemas.ts';

for (const [file, schema] of Object.entries(generatedSchemas())) {
  writeFileSync(new URL(`../${file}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
