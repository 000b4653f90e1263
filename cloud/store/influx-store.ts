/**
 * InfluxDB stores: samples go to InfluxDB as line protocol (v2 write API for InfluxDB 2.x/3.x,
 * `/write` for 1.x) and are read back with InfluxQL (`/query`: native on 1.x and 3.x, the v1
 * compatibility API with a DBRP mapping on 2.x). The registry, latest values, batch dedupe, gaps
 * and dead letters stay in an SQLite catalog next to the collector.
 *
 * Mapping, one measurement (`jjj` by default):
 *   tags   region, project, site, line, equipment, point   — bounded by the plant's point list
 *   fields value (float) | value_bool | value_str | value_json (arrays); quality (string);
 *          status_code, server_ts, boot, seq (integers); gateway, out_of_range (strings)
 *   time   the sample's source timestamp, ms
 * Quality and ids are fields, so a replayed sample has the same series and time and overwrites itself.
 */
import type { InfluxDB } from '@influxdata/influxdb-client';
import { type PointValue, parsePointId, type Quality } from '../../gateway/schema/index.js';
import type { InfluxStoreConfig } from '../config.js';
import { CollectorError } from '../errors.js';
import { SqliteCatalog } from './catalog.js';
import { influxClientOf, influxTlsOf, LineWriter, v1Parameters } from './influx-write.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import type {
  IncomingBatch,
  OutOfRange,
  Series,
  SeriesQuery,
  SeriesSample,
  TelemetryWrite,
} from './store.js';

interface InfluxqlResult {
  results?: {
    statement_id: number;
    error?: string;
    series?: { columns: string[]; values: unknown[][] }[];
  }[];
  error?: string;
}

const quoteIdentifier = (name: string) => `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const quoteLiteral = (text: string) => `'${text.replace(/['\\]/g, (c) => `\\${c}`)}'`;
/** The tags that name one point's series. */
const pointTags = ['site', 'line', 'equipment', 'point'] as const;

export class InfluxStore extends SqliteCatalog {
  private readonly influx: InfluxDB;
  private readonly writer: LineWriter;
  private readonly queryParams: URLSearchParams;

  constructor(private readonly config: InfluxStoreConfig) {
    super(openSqliteDatabase(config.catalogPath));
    const tls = influxTlsOf(config);
    this.influx = influxClientOf(config, tls);
    this.queryParams = new URLSearchParams({
      db: config.apiVersion === 2 ? config.bucket : config.database,
      epoch: 'ms',
      ...v1Parameters(config),
    });
    this.writer = new LineWriter(config, tls);
  }

  override async writeTelemetry(batch: IncomingBatch, receivedAt: number): Promise<TelemetryWrite> {
    const { id, boot, seq } = batch.gateway;
    if (seq !== undefined && this.hasBatch(id, boot, seq)) return { outcome: 'duplicate' };
    const judged = this.judgeBatch(batch);
    // Samples first: if the catalog write never happens, a redelivery rewrites the same points in place.
    await this.writer.write(judged);
    return super.writeTelemetry(judged, receivedAt);
  }

  series(query: SeriesQuery): Promise<Series | undefined> {
    return this.seriesFrom(
      query,
      async (limit) =>
        (await this.samplesOf([query.pointId], query.from, query.to, limit)).get(query.pointId) ?? [],
    );
  }

  /** One InfluxQL statement per point, sent together. */
  async samplesOf(
    pointIds: string[],
    from: number,
    to: number,
    limit?: number,
  ): Promise<Map<string, SeriesSample[]>> {
    const result = new Map<string, SeriesSample[]>();
    if (pointIds.length === 0) return result;
    const statements = pointIds.map((id) => {
      const parts = parsePointId(id);
      if (!parts) throw new CollectorError('STORE_FAILED', `not a point id: ${JSON.stringify(id)}`);
      const where = pointTags
        .map((tag) => `${quoteIdentifier(tag)} = ${quoteLiteral(parts[tag])}`)
        .join(' AND ');
      return (
        `SELECT "value", "value_bool", "value_str", "value_json", "quality", "out_of_range" FROM ${quoteIdentifier(this.config.measurement)} ` +
        `WHERE ${where} AND time >= ${from}ms AND time <= ${to}ms ORDER BY time ASC${limit ? ` LIMIT ${limit}` : ''}`
      );
    });
    const answer = await this.query(statements.join('; '));
    for (const [index, statement] of (answer.results ?? []).entries()) {
      if (statement.error) throw new CollectorError('STORE_FAILED', `InfluxQL: ${statement.error}`);
      const id = pointIds[statement.statement_id ?? index];
      const rows = statement.series?.[0]?.values;
      if (id === undefined || !rows || rows.length === 0) continue;
      result.set(
        id,
        rows.map(([ts, value, valueBool, valueStr, valueJson, quality, outOfRange]) => {
          const sample: SeriesSample = {
            ts: Number(ts),
            value: decodeFields(value, valueBool, valueStr, valueJson),
            quality: (quality ?? 'bad') as Quality,
          };
          if (typeof outOfRange === 'string') sample.outOfRange = outOfRange as OutOfRange;
          return sample;
        }),
      );
    }
    return result;
  }

  override async ping(): Promise<void> {
    await super.ping();
    await this.influx.transport.request('/ping', null, { method: 'GET' });
  }

  override async close(): Promise<void> {
    this.writer.close();
    await super.close();
  }

  private async query(q: string): Promise<InfluxqlResult> {
    const params = new URLSearchParams(this.queryParams);
    params.set('q', q);
    const answer = (await this.influx.transport.request(`/query?${params}`, null, {
      method: 'GET',
    })) as InfluxqlResult;
    if (answer.error) throw new CollectorError('STORE_FAILED', `InfluxQL: ${answer.error}`);
    return answer;
  }
}

function decodeFields(value: unknown, valueBool: unknown, valueStr: unknown, valueJson: unknown): PointValue {
  if (typeof value === 'number') return value;
  if (typeof valueBool === 'boolean') return valueBool;
  if (typeof valueStr === 'string') return valueStr;
  if (typeof valueJson === 'string') return JSON.parse(valueJson) as PointValue;
  return null;
}
