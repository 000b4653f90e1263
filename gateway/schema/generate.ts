/** `npm run schema:generate`: rewrites gateway/schema/telemetry.schema.json from the zod source. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema } from './json-schema.js';

export const schemaFile = fileURLToPath(
  new URL('../../../gateway/schema/telemetry.schema.json', import.meta.url),
);

writeFileSync(schemaFile, renderJsonSchema());
console.log(`wrote ${schemaFile}`);
