/**
 * Writing samples to InfluxDB: the line-protocol mapping and the request coalescing. The mapping is
 * documented in `influx-store.ts` and the README.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import type { TlsMaterial } from '../../gateway/common/tls.js';
import type { PointValue } from '../../gateway/schema/index.js';
import { type InfluxStoreConfig, tlsMaterialOf } from '../config.js';
import { type IncomingBatch, type StoredSample, StoreRefusedError } from './store.js';

/** Line protocol escapes: tag keys/values and measurement escape commas, spaces and `=`. */
export const escapeTag = (text: string) => text.replace(/[,= \\]/g, (c) => `\\${c}`);
const escapeString = (text: string) => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;

function valueField(value: PointValue): string | undefined {
  if (value === null) return undefined;
  // Ingest rejects NaN and infinity on every path, so a number here is finite.
  if (typeof value === 'number') return `value=${value}`;
  if (typeof value === 'boolean') return `value_bool=${value}`;
  if (Array.isArray(value)) return `value_json=${escapeString(JSON.stringify(value))}`;
  return `value_str=${escapeString(value)}`;
}

/** What every line of a batch shares: the tags before `line=`, and the id fields. */
function batchParts(measurement: string, batch: IncomingBatch): { prefix: string; ids: string } {
  const { id, boot, seq } = batch.gateway;
  return {
    prefix: `${escapeTag(measurement)},region=${batch.region},project=${batch.project},site=${batch.site}`,
    ids: `,gateway=${escapeString(id)},boot=${boot}i${seq === undefined ? '' : `,seq=${seq}i`}`,
  };
}

/** One sample's line, without its newline: the one place the mapping is spelled out. */
function sampleLine(prefix: string, ids: string, sample: StoredSample): string {
  const value = valueField(sample.value);
  let fields = `${value === undefined ? '' : `${value},`}quality="${sample.quality}"${ids}`;
  if (sample.status) fields += `,status_code=${sample.status.code}i`;
  if (sample.serverTs !== undefined) fields += `,server_ts=${sample.serverTs}i`;
  // A field, not a tag: a sample moving in and out of range stays one series.
  if (sample.outOfRange) fields += `,out_of_range="${sample.outOfRange}"`;
  return `${prefix},line=${sample.line},equipment=${sample.equipment},point=${sample.point} ${fields} ${sample.ts}`;
}

/** One line per sample of the batch; exported for the benchmark's direct-write baseline. */
export function batchToLines(measurement: string, batch: IncomingBatch): string[] {
  const { prefix, ids } = batchParts(measurement, batch);
  return batch.points.map((sample) => sampleLine(prefix, ids, sample));
}

/**
 * A request body: every line of the batches, UTF-8, each line written straight into one growing
 * buffer (joining tens of thousands of line strings first costs more than building them).
 */
function encodeBody(measurement: string, batches: readonly IncomingBatch[]): Buffer {
  let body = Buffer.allocUnsafe(160 * batches.reduce((sum, batch) => sum + batch.points.length, 0) + 1024);
  let length = 0;
  for (const batch of batches) {
    const { prefix, ids } = batchParts(measurement, batch);
    for (const sample of batch.points) {
      const line = `${sampleLine(prefix, ids, sample)}\n`;
      // UTF-8 needs at most 3 bytes per UTF-16 unit.
      if (length + line.length * 3 > body.length) {
        const larger = Buffer.allocUnsafe(Math.max(body.length * 2, length + line.length * 3));
        body.copy(larger, 0, 0, length);
        body = larger;
      }
      length += body.write(line, length, 'utf8');
    }
  }
  return body.subarray(0, length);
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

/** The TLS files of an InfluxDB behind a private CA or asking for a client certificate. */
export function influxTlsOf(config: InfluxStoreConfig): TlsMaterial | undefined {
  return config.tls && tlsMaterialOf(config.tls, 'store.tls');
}

export function influxClientOf(config: InfluxStoreConfig, tls: TlsMaterial | undefined): InfluxDB {
  return new InfluxDB({
    url: config.url,
    token: config.apiVersion === 2 ? config.token : '',
    timeout: config.timeoutMs,
    // Handed to https.request by the client's Node transport.
    ...(tls && { transportOptions: { ...tls } }),
  });
}

interface PostAnswer {
  status: number;
  statusText: string;
  headers: IncomingMessage['headers'];
  text: string;
}

/**
 * One POST on a keep-alive agent. node:http(s) rather than fetch: Node's fetch takes no CA or client
 * certificate per request (that needs undici's Agent, which is not a dependency here).
 */
function post(
  url: URL,
  agent: HttpAgent,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
): Promise<PostAnswer> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: 'POST', agent, headers, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const firstHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

interface PendingWrite {
  batch: IncomingBatch;
  settle: (error?: unknown) => void;
}

const gzipFast = promisify(gzip);

/**
 * Coalesces concurrent writes into requests of at most `batchSize` lines (gzipped above the
 * threshold), with up to `writeConcurrency` requests in flight. A write resolves once its lines are
 * acknowledged by InfluxDB and rejects with the request's error: a `StoreRefusedError` when InfluxDB
 * refuses the lines themselves, else what failed (an `HttpError` for a 429 or 5xx). Retrying is the
 * caller's (the ingest's) job, so nothing is held here. The body is built as bytes
 * and posted directly, because the client's transport only takes strings; its `HttpError` keeps
 * the error handling shared with the queries.
 */
export class LineWriter {
  private readonly pending: PendingWrite[] = [];
  private inFlight = 0;
  private readonly writeUrl: URL;
  private readonly headers: Record<string, string>;
  private readonly agent: HttpAgent;

  constructor(
    private readonly config: InfluxStoreConfig,
    tls?: TlsMaterial,
  ) {
    this.writeUrl = new URL(`${config.url.replace(/\/+$/, '')}${writePathOf(config)}`);
    this.agent =
      this.writeUrl.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, ...tls })
        : new HttpAgent({ keepAlive: true });
    this.headers = {
      'content-type': 'text/plain; charset=utf-8',
      ...(config.apiVersion === 2 && config.token !== '' && { authorization: `Token ${config.token}` }),
    };
  }

  write(batch: IncomingBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ batch, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      this.pump();
    });
  }

  private pump(): void {
    while (this.pending.length > 0 && this.inFlight < this.config.writeConcurrency) {
      const group: PendingWrite[] = [];
      let size = 0;
      while (
        this.pending.length > 0 &&
        (group.length === 0 || size + (this.pending[0]?.batch.points.length ?? 0) <= this.config.batchSize)
      ) {
        const next = this.pending.shift() as PendingWrite;
        group.push(next);
        size += next.batch.points.length;
      }
      this.inFlight++;
      this.send(group.map((entry) => entry.batch)).then(
        () => this.settle(group),
        (error: unknown) => this.settle(group, error),
      );
    }
  }

  /** Lines written as they are, in one request (not coalesced with batches). */
  writeLines(lines: readonly string[]): Promise<void> {
    return lines.length === 0 ? Promise.resolve() : this.post(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  }

  private send(batches: IncomingBatch[]): Promise<void> {
    return this.post(encodeBody(this.config.measurement, batches));
  }

  private async post(lines: Buffer): Promise<void> {
    const compress = lines.length > this.config.gzipThreshold;
    // The fastest level: on a LAN the CPU is dearer than the 15 % of bytes the default level saves.
    const body = compress ? await gzipFast(lines, { level: constants.Z_BEST_SPEED }) : lines;
    const response = await post(
      this.writeUrl,
      this.agent,
      compress ? { ...this.headers, 'content-encoding': 'gzip' } : this.headers,
      body,
      this.config.timeoutMs,
    );
    if (response.status < 200 || response.status > 299) {
      const error = new HttpError(
        response.status,
        response.statusText,
        response.text,
        firstHeader(response.headers['retry-after']),
        firstHeader(response.headers['content-type']),
      );
      // Retrying helps for these; any other status means InfluxDB refuses the data itself.
      const transient = response.status === 429 || response.status >= 500;
      throw transient ? error : new StoreRefusedError(error.message, { cause: error });
    }
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private settle(group: PendingWrite[], error?: unknown): void {
    this.inFlight--;
    for (const entry of group) entry.settle(error);
    this.pump();
  }
}
