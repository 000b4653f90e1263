/**
 * Writing samples to InfluxDB: the line-protocol mapping and the request coalescing. The mapping is
 * documented in `influx-store.ts` and the README.
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import type { PointValue } from '../../gateway/schema/index.js';
import type { InfluxStoreConfig } from '../config.js';
import type { IncomingBatch } from './store.js';

/** Line protocol escapes: tag keys/values and measurement escape commas, spaces and `=`. */
const escapeTag = (text: string) => text.replace(/[,= \\]/g, (c) => `\\${c}`);
const escapeString = (text: string) => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;

function valueField(value: PointValue): string | undefined {
  if (value === null) return undefined;
  // JSON has no NaN or infinity, so a number here is finite.
  if (typeof value === 'number') return `value=${value}`;
  if (typeof value === 'boolean') return `value_bool=${value}`;
  if (Array.isArray(value)) return `value_json=${escapeString(JSON.stringify(value))}`;
  return `value_str=${escapeString(value)}`;
}

/** One line per sample of the batch; exported for the benchmark's direct-write baseline. */
export function batchToLines(measurement: string, batch: IncomingBatch): string[] {
  const prefix = `${escapeTag(measurement)},region=${batch.region},project=${batch.project},site=${batch.site}`;
  const { id, boot, seq } = batch.gateway;
  const ids = `,gateway=${escapeString(id)},boot=${boot}i${seq === undefined ? '' : `,seq=${seq}i`}`;
  const lines = new Array<string>(batch.points.length);
  for (let index = 0; index < lines.length; index++) {
    const sample = batch.points[index] as IncomingBatch['points'][number];
    const value = valueField(sample.value);
    let fields = `${value === undefined ? '' : `${value},`}quality="${sample.quality}"${ids}`;
    if (sample.status) fields += `,status_code=${sample.status.code}i`;
    if (sample.serverTs !== undefined) fields += `,server_ts=${sample.serverTs}i`;
    lines[index] =
      `${prefix},line=${sample.line},equipment=${sample.equipment},point=${sample.point} ${fields} ${sample.ts}`;
  }
  return lines;
}

/**
 * Retention policy and 1.x credentials, as query parameters of both `/write` and `/query`
 * (InfluxDB 1.x before 1.8 knows no token header: credentials go in the query string).
 */
export function v1Parameters(config: InfluxStoreConfig): Record<string, string> {
  return {
    ...(config.retentionPolicy === '' ? {} : { rp: config.retentionPolicy }),
    ...(config.apiVersion === 1 && config.username !== '' ? { u: config.username, p: config.password } : {}),
  };
}

/** The write endpoint with its parameters: `/api/v2/write` for 2.x/3.x, `/write` for 1.x. */
function writePathOf(config: InfluxStoreConfig): string {
  const write =
    config.apiVersion === 2
      ? new URLSearchParams({ org: config.org, bucket: config.bucket, precision: 'ms' })
      : new URLSearchParams({ db: config.database, precision: 'ms', ...v1Parameters(config) });
  return `${config.apiVersion === 2 ? '/api/v2/write' : '/write'}?${write}`;
}

export function influxClientOf(config: InfluxStoreConfig): InfluxDB {
  return new InfluxDB({
    url: config.url,
    token: config.apiVersion === 2 ? config.token : '',
    timeout: config.timeoutMs,
  });
}

interface PendingWrite {
  lines: string[];
  settle: (error?: unknown) => void;
}

/**
 * Coalesces concurrent writes into requests of at most `batchSize` lines (gzipped above the
 * threshold), with up to `writeConcurrency` requests in flight. A write resolves once its lines are
 * acknowledged by InfluxDB and rejects with the request's error: retrying is the caller's (the
 * ingest's) job, so nothing is held here.
 */
export class LineWriter {
  private readonly pending: PendingWrite[] = [];
  private inFlight = 0;
  private readonly influx: InfluxDB;
  private readonly writePath: string;

  constructor(private readonly config: InfluxStoreConfig) {
    this.influx = influxClientOf(config);
    this.writePath = writePathOf(config);
  }

  write(batch: IncomingBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({
        lines: batchToLines(this.config.measurement, batch),
        settle: (error) => (error === undefined ? resolve() : reject(error)),
      });
      this.pump();
    });
  }

  private pump(): void {
    while (this.pending.length > 0 && this.inFlight < this.config.writeConcurrency) {
      const group: PendingWrite[] = [];
      let size = 0;
      while (
        this.pending.length > 0 &&
        (group.length === 0 || size + (this.pending[0]?.lines.length ?? 0) <= this.config.batchSize)
      ) {
        const next = this.pending.shift() as PendingWrite;
        group.push(next);
        size += next.lines.length;
      }
      this.inFlight++;
      this.send(group.flatMap((entry) => entry.lines).join('\n')).then(
        () => this.settle(group),
        (error: unknown) => this.settle(group, error),
      );
    }
  }

  private send(body: string): Promise<void> {
    return this.influx.transport.request(this.writePath, body, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      gzipThreshold: this.config.gzipThreshold,
    });
  }

  private settle(group: PendingWrite[], error?: unknown): void {
    this.inFlight--;
    for (const entry of group) entry.settle(error);
    this.pump();
  }
}
