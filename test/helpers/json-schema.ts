/** Validates with the committed JSON Schema file (what other vendors implement against), not the zod source. */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';

export function committedJsonSchemaText(file = 'telemetry.schema.json'): string {
  return readFileSync(new URL(`../../gateway/schema/${file}`, import.meta.url), 'utf8');
}

export function jsonSchemaValidator(file = 'telemetry.schema.json'): (message: unknown) => string[] {
  const ajv = new Ajv2020.default({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(committedJsonSchemaText(file)));
  return (message) =>
    validate(message) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
