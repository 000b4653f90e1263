/** `npm run schema:generate`: rewrites the JSON Schema files in gateway/schema/ from the zod source. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaDocuments, renderJsonSchema } from './json-schema.js';

for (const schema of jsonSchemaDocuments) {
  const file = fileURLToPath(new URL(`../../../gateway/schema/${schema.file}`, import.meta.url));
  writeFileSync(file, renderJsonSchema(schema));
  console.log(`wrote ${file}`);
}
