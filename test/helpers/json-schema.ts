/** Validates with the committed JSON Schema file (what other vendors implement against), not the zod source. */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';

const schemaFile = new URL('../../gateway/schema/telemetry.schema.json', import.meta.url);

export function committedJsonSchemaText(): string {
  return readFileSync(schemaFile, 'utf8');
}

export function jsonSchemaValidator(): (message: unknown) => string[] {
  const ajv = new Ajv2020.default({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(committedJsonSchemaText()));
  return (message) =>
    validate(message) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
