import { z } from 'zod';
import { MetadataMessage, PointRecord, StatusMessage, TelemetryBatch } from './index.js';

export const JSON_SCHEMA_ID = 'https://jjj-iiot.example/schema/telemetry.schema.json';

/** The JSON Schema of every jjj-iiot message, derived from the zod source (never edited by hand). */
export function buildJsonSchema(): Record<string, unknown> {
  const message = z
    .union([
      TelemetryBatch.meta({ id: 'TelemetryBatch' }),
      MetadataMessage.meta({ id: 'MetadataMessage' }),
      StatusMessage.meta({ id: 'StatusMessage' }),
      PointRecord.meta({ id: 'PointRecord' }),
    ])
    .meta({
      title: 'jjj-iiot wire messages',
      description:
        'Messages of the jjj-iiot industrial-internet schema. Each names its schema and version in `schema`: jjj.telemetry/1 (batch of samples), jjj.metadata/1 (retained point metadata), jjj.status/1 (retained gateway status), jjj.point/1 (one normalised point with identity, as printed by `jjj-gateway test`).',
    });
  return { ...z.toJSONSchema(message, { target: 'draft-2020-12' }), $id: JSON_SCHEMA_ID };
}

export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
