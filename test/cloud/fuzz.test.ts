/**
 * 10,000 fuzzed, malformed and poisoned messages (v1, compact v2, zlib-compressed) through Mosquitto: the collector stays up,
 * dead-letters every one with its reason (counted in metrics, listed by the API), and still stores
 * good data.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Peer, startMosquittoBroker } from '../../bench/collector-peers.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import type { RejectReason } from '../../cloud/ingest.js';
import type { DeadLetter } from '../../cloud/store/store.js';
import { compactBatch } from '../../gateway/schema/compact-telemetry.js';
import { topicFor } from '../../gateway/schema/index.js';
import { mulberry32 } from '../../seeds/signals.js';
import { eventually } from '../helpers/wait.js';
import { GATEWAY, SITE, telemetry } from './fixtures.js';

const MESSAGES = 10_000;
const MAX_MESSAGE_BYTES = 4096;
const random = mulberry32(20_260_601);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const PROJECT = 'etown-smart-factory';
const TOPIC = topicFor({ region: 'BJ', site: SITE, gateway: GATEWAY, kind: 'telemetry' });

/** Each turns a valid batch into an invalid one. */
const breakages: ((batch: Record<string, unknown> & { points: Record<string, unknown>[] }) => void)[] = [
  (b) => {
    b.points = [];
  },
  (b) => {
    (b.points[0] as Record<string, unknown>).quality = 'great';
  },
  (b) => {
    (b.points[0] as Record<string, unknown>).value = { nested: true };
  },
  (b) => {
    (b.points[0] as Record<string, unknown>).ts = 'yesterday';
  },
  (b) => {
    b.gateway = { id: GATEWAY, boot: 0, seq: -1 };
  },
  (b) => {
    b.region = 'SH';
  },
  (b) => {
    (b.points[1] as Record<string, unknown>).line = 'Not An Identifier!';
  },
  (b) => {
    delete b.sentTs;
  },
];

/** Each turns a valid compact batch into an invalid one. */
const compactBreakages: ((batch: Record<string, unknown> & { groups: Record<string, unknown>[] }) => void)[] =
  [
    (b) => {
      b.groups = [];
    },
    (b) => {
      (b.groups[0] as Record<string, unknown>).values = [1];
    },
    (b) => {
      (b.groups[0] as Record<string, unknown>).quality = ['good'];
    },
    (b) => {
      (b.groups[1] as Record<string, unknown>).quality = 'good';
    },
    (b) => {
      (b.groups[0] as Record<string, unknown>).dt = [0, -1, 0, 0];
    },
    (b) => {
      (b.groups[1] as Record<string, unknown>).status = 'GatewayTargetDeviceFailedToRespond';
    },
    (b) => {
      b.points = b.groups;
      Reflect.deleteProperty(b, 'groups');
    },
  ];

/** The poisoning attacks of issue 11: well-formed messages claiming what they may not. */
function poisoned(index: number): { topic: string; payload: Buffer; reason: RejectReason } {
  const payload = (message: unknown) => Buffer.from(JSON.stringify(message));
  switch (index % 4) {
    case 0:
      return {
        topic: TOPIC,
        payload: payload(telemetry({ sentTs: Date.now() + 3_600_000 + Math.floor(random() * 2 ** 40) })),
        reason: 'future-timestamp',
      };
    case 1: {
      const boot = 1_000_001 + Math.floor(random() * (Number.MAX_SAFE_INTEGER - 1_000_001));
      return {
        topic: TOPIC,
        payload: payload(telemetry({ gateway: { id: GATEWAY, boot, seq: 0 } })),
        reason: 'impossible-sequence',
      };
    }
    case 2: {
      const region = pick(['BJ', 'TJ', 'HE'] as const);
      const gateway = pick([GATEWAY, 'evil-gw']);
      const project = region === 'BJ' && gateway === GATEWAY ? 'evil-proj' : pick([PROJECT, 'evil-proj']);
      const batch = telemetry({ region, project, gateway: { id: gateway, boot: 1, seq: 0 } });
      return {
        topic: topicFor({ region, site: SITE, gateway, kind: 'telemetry' }),
        payload: payload(batch),
        reason: 'foreign-site',
      };
    }
    default: {
      // JSON.parse makes 1e999 Infinity: the fast path must refuse it as zod does.
      const text = JSON.stringify(telemetry()).replace(
        '"value":12000.5',
        `"value":${pick(['1e999', '-1e999'])}`,
      );
      return { topic: TOPIC, payload: Buffer.from(text), reason: 'invalid-message' };
    }
  }
}

function fuzzed(index: number): { topic: string; payload: Buffer; reason: RejectReason } {
  if (index % 7 === 6) return poisoned(Math.floor(index / 7));
  switch (index % 7) {
    case 0: {
      // Random bytes: never empty (an empty payload clears a retained message), never valid JSON of a schema.
      const bytes = Buffer.from(
        Array.from({ length: 3 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)),
      );
      if (random() < 0.5) {
        // A zlib header (0x78 0x9c) then noise: the stream cannot inflate, or fails its checksum.
        bytes[0] = 0x78;
        bytes[1] = 0x9c;
        return { topic: TOPIC, payload: bytes, reason: 'bad-compression' };
      }
      bytes[0] = 0x7b; // "{" then noise: cannot parse
      bytes[bytes.length - 1] = 0x00;
      return { topic: TOPIC, payload: bytes, reason: 'bad-json' };
    }
    case 1: {
      const schema = pick([undefined, 'jjj.telemetry/3', 'sparkplug', 42, null]);
      const body = pick([{ schema }, [1, 2, 3], 'text', 17, { ...telemetry(), schema }]);
      return { topic: TOPIC, payload: Buffer.from(JSON.stringify(body)), reason: 'unknown-schema' };
    }
    case 2: {
      if (random() < 0.5) {
        // A compact batch broken one way, sent plain or zlib-compressed.
        const batch = compactBatch(telemetry()) as unknown as Record<string, unknown> & {
          groups: Record<string, unknown>[];
        };
        pick(compactBreakages)(batch);
        const text = Buffer.from(JSON.stringify(batch));
        return {
          topic: TOPIC,
          payload: random() < 0.5 ? text : deflateSync(text),
          reason: 'invalid-message',
        };
      }
      const batch = telemetry() as unknown as Record<string, unknown> & { points: Record<string, unknown>[] };
      pick(breakages)(batch);
      return { topic: TOPIC, payload: Buffer.from(JSON.stringify(batch)), reason: 'invalid-message' };
    }
    case 3: {
      const batch = telemetry({ site: 'tj-elsewhere' });
      return { topic: TOPIC, payload: Buffer.from(JSON.stringify(batch)), reason: 'identity-mismatch' };
    }
    case 4: {
      if (random() < 0.5) {
        // Small on the wire, past the bound once inflated.
        const padding = 'x'.repeat(MAX_MESSAGE_BYTES + Math.floor(random() * 100_000));
        return {
          topic: TOPIC,
          payload: deflateSync(JSON.stringify({ ...compactBatch(telemetry()), padding })),
          reason: 'oversized',
        };
      }
      const padding = 'x'.repeat(MAX_MESSAGE_BYTES + Math.floor(random() * 1000));
      return {
        topic: TOPIC,
        payload: Buffer.from(JSON.stringify({ ...telemetry(), padding })),
        reason: 'oversized',
      };
    }
    default: {
      const topic = pick([
        'jjj/v1/XX/site/gw/telemetry',
        'jjj/v1/BJ/site/gw/alarms',
        'jjj/v1/BJ/a/b/telemetry/x',
      ]);
      return { topic, payload: Buffer.from(JSON.stringify(telemetry())), reason: 'bad-topic' };
    }
  }
}

describe('fuzzed and malformed messages', () => {
  let broker: Peer;
  let collector: RunningCollector;
  let dir: string;

  beforeAll(async () => {
    broker = await startMosquittoBroker();
    dir = mkdtempSync(join(tmpdir(), 'jjj-fuzz-'));
    collector = await startCollector(
      buildCollectorConfig({
        // `#` so the malformed topics reach the collector too.
        mqtt: { url: broker.url, topic: 'jjj/#' },
        store: { path: join(dir, 'collector.db') },
        ingest: {
          maxMessageBytes: MAX_MESSAGE_BYTES,
          // Listed, so no fuzzed message can claim the site first.
          sites: { [SITE]: { region: 'BJ', project: PROJECT, gateways: [GATEWAY] } },
        },
        auth: { anonymous: 'viewer' },
        http: { port: 0 },
      }),
      { logger: pino({ level: 'silent' }) },
    );
  }, 30_000);

  afterAll(async () => {
    await collector?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dead-letters every one with its reason and keeps serving', async () => {
    const publisher = await connectAsync(broker.url);
    const expectedReasons = new Map<string, number>();
    const messages = Array.from({ length: MESSAGES }, (_, i) => fuzzed(i));
    for (const { reason } of messages) expectedReasons.set(reason, (expectedReasons.get(reason) ?? 0) + 1);
    for (let start = 0; start < MESSAGES; start += 500) {
      await Promise.all(
        messages
          .slice(start, start + 500)
          .map(({ topic, payload }) => publisher.publishAsync(topic, payload, { qos: 1 })),
      );
    }
    const valid = telemetry({ gateway: { id: GATEWAY, boot: 1, seq: 0 } });
    await publisher.publishAsync(TOPIC, JSON.stringify(valid), { qos: 1 });
    await publisher.endAsync();

    const counted = await eventually(async () => {
      const text = await (await fetch(`${collector.httpUrl}/metrics`)).text();
      const byReason = new Map(
        [...text.matchAll(/^jjj_collector_dead_letters_total\{reason="([^"]+)"\} (\d+)$/gm)].map((m) => [
          m[1] as string,
          Number(m[2]),
        ]),
      );
      expect([...byReason.values()].reduce((a, b) => a + b, 0)).toBe(MESSAGES);
      expect(text).toMatch(/^jjj_collector_points_stored_total 5$/m);
      return byReason;
    }, 60_000);
    expect(Object.fromEntries(counted)).toEqual(Object.fromEntries(expectedReasons));

    const health = await fetch(`${collector.httpUrl}/api/v1/health`);
    expect(health.status).toBe(200);
    const letters = (await (
      await fetch(`${collector.httpUrl}/api/v1/dead-letters?limit=1000`)
    ).json()) as DeadLetter[];
    expect(letters).toHaveLength(1000);
    for (const letter of letters) {
      expect(expectedReasons.has(letter.reason)).toBe(true);
      expect(letter.detail.length).toBeGreaterThan(0);
      expect(letter.payloadSize).toBeGreaterThan(0);
    }
    const oversized = (await (
      await fetch(`${collector.httpUrl}/api/v1/dead-letters?reason=oversized&limit=5`)
    ).json()) as DeadLetter[];
    expect(oversized).toHaveLength(5);
    expect(oversized[0]?.detail).toMatch(/more than the 4096 (bytes )?allowed/);
  }, 120_000);
});
