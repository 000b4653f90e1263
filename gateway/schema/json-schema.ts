import { z } from 'zod';
import { CommandAck, CommandMessage } from './commands.js';
import { CompactTelemetryBatch } from './compact-telemetry.js';
import { MetadataMessage, PointRecord, StatusMessage, TelemetryBatch } from './index.js';

const JSON_SCHEMA_BASE = 'https://jjj-iiot.example/schema/';

/** A JSON Schema document derived from the zod source (never edited by hand), and the file it is committed as. */
export interface JsonSchemaDocument {
  file: string;
  build(): Record<string, unknown>;
}

function document(
  file: string,
  title: string,
  description: string,
  members: z.ZodType[],
): JsonSchemaDocument {
  return {
    file,
    build: () => ({
      ...z.toJSONSchema(z.union(members).meta({ title, description }), { target: 'draft-2020-12' }),
      $id: `${JSON_SCHEMA_BASE}${file}`,
    }),
  };
}

export const jsonSchemaDocuments: readonly JsonSchemaDocument[] = [
  document(
    'telemetry.schema.json',
    'jjj-iiot wire messages',
    'Messages of the jjj-iiot industrial-internet schema. Each names its schema and version in `schema`: jjj.telemetry/1 (batch of samples), jjj.telemetry/2 (the same batch compact: identity once per equipment, samples as columns; a column given as one value holds for every sample of its group, an array column has one entry per point; each JSON text may also travel zlib-compressed), jjj.metadata/1 (retained point metadata), jjj.status/1 (retained gateway status), jjj.point/1 (one normalised point with identity, as printed by `jjj-gateway test`).',
    [
      TelemetryBatch.meta({ id: 'TelemetryBatch' }),
      CompactTelemetryBatch.meta({ id: 'CompactTelemetryBatch' }),
      MetadataMessage.meta({ id: 'MetadataMessage' }),
      StatusMessage.meta({ id: 'StatusMessage' }),
      PointRecord.meta({ id: 'PointRecord' }),
    ],
  ),
  document(
    'command.schema.json',
    'jjj-iiot command messages',
    'The write-back path: jjj.command/2 (signed by the cloud, for one gateway, expiring; published on that gateway’s `command` topic) and jjj.command-ack/1 (the gateway’s answer on `command-ack`: the verified signer, one outcome per write, or why the command was refused).',
    [CommandMessage.meta({ id: 'CommandMessage' }), CommandAck.meta({ id: 'CommandAck' })],
  ),
];

export function renderJsonSchema(schema: JsonSchemaDocument): string {
  return `${JSON.stringify(schema.build(), null, 2)}\n`;
}
