/**
 * InfluxDB stores: samples go to InfluxDB as line protocol (v2 write API for InfluxDB 2.x/3.x,
 * `/write` for 1.x) and are read back with InfluxQL (`/query`: native on 1.x and 3.x, the v1
 * compatibility API with a DBRP mapping on 2.x). The registry, latest values, batch dedupe, gaps
 * and dead letters stay in an SQLite catalog next to the collector.
 *
 * Mapping, one measurement (`jjj` by default):
 *   tags   region, project, site, line, equipment, point   — bounded by the plant's point list
 *   fields value (float) | value_bool | value_str | value_json (arrays); quality (string);
 *          status_code, server_ts, boot, seq (integers); gateway (string)
 *   time   the sample's source timestamp, ms
 * Quality and ids are fields, so a replayed sample has the same series and time and overwrites itself.
 */
import { HttpError, type InfluxDB } from '@influxdata/influxdb-client';
import type { MetadataMessage, PointValue, Quality, StatusMessage } from '../../gateway/schema/index.js';
import type { InfluxStoreConfig } from '../config.js';
import { CollectorError } from '../errors.js';
import { influxClientOf, LineWriter, v1Parameters } from './influx-write.js';
import { SqliteStore } from './sqlite-store.js';
import type {
  Completeness,
  DeadLetter,
  DeadLetterQuery,
  GatewaySummary,
  IncomingBatch,
  LatestPoint,
  PointInfo,
  RejectedMessage,
  SequenceGap,
  Series,
  SeriesQuery,
  SeriesSample,
  SiteSummary,
  TelemetryStore,
  TelemetryWrite,
} from './store.js';

/** Retrying helps for these; any other status means InfluxDB refuses the data itself. */
export function isTransientStoreError(error: unknown): boolean {
  if (error instanceof HttpError) return error.statusCode === 429 || error.statusCode >= 500;
  return true;
}

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

export class InfluxStore implements TelemetryStore {
  private readonly catalog: SqliteStore;
  private readonly influx: InfluxDB;
  private readonly writer: LineWriter;
  private readonly queryParams: URLSearchParams;

  constructor(private readonly config: InfluxStoreConfig) {
    this.catalog = new SqliteStore(config.catalogPath, { keepSamples: false });
    this.influx = influxClientOf(config);
    this.queryParams = new URLSearchParams({
      db: config.apiVersion === 2 ? config.bucket : config.database,
      epoch: 'ms',
      ...v1Parameters(config),
    });
    this.writer = new LineWriter(config);
  }

  async writeTelemetry(batch: IncomingBatch, receivedAt: number): Promise<TelemetryWrite> {
    const { id, boot, seq } = batch.gateway;
    if (seq !== undefined && this.catalog.hasBatch(id, boot, seq)) return { outcome: 'duplicate' };
    // Samples first: if the catalog write never happens, a redelivery rewrites the same points in place.
    await this.writer.write(batch);
    return this.catalog.writeTelemetry(batch, receivedAt);
  }

  writeMetadata(message: MetadataMessage): Promise<void> {
    return this.catalog.writeMetadata(message);
  }

  writeStatus(message: StatusMessage): Promise<void> {
    return this.catalog.writeStatus(message);
  }

  writeRejected(message: RejectedMessage): Promise<void> {
    return this.catalog.writeRejected(message);
  }

  listSites(): Promise<SiteSummary[]> {
    return this.catalog.listSites();
  }

  latest(site: string): Promise<LatestPoint[] | undefined> {
    return this.catalog.latest(site);
  }

  points(site: string): Promise<PointInfo[] | undefined> {
    return this.catalog.points(site);
  }

  gateways(): Promise<GatewaySummary[]> {
    return this.catalog.gateways();
  }

  gaps(gateway: string): Promise<SequenceGap[]> {
    return this.catalog.gaps(gateway);
  }

  completeness(site: string, from: number, to: number): Promise<Completeness | undefined> {
    return this.catalog.completeness(site, from, to);
  }

  deadLetters(query: DeadLetterQuery): Promise<DeadLetter[]> {
    return this.catalog.deadLetters(query);
  }

  async series(query: SeriesQuery): Promise<Series | undefined> {
    const info = await this.pointInfo(query.pointId);
    if (!info) return undefined;
    const samples =
      (await this.samplesOf([query.pointId], query.from, query.to, query.limit + 1)).get(query.pointId) ?? [];
    const series: Series = {
      point: query.pointId,
      samples: samples.slice(0, query.limit),
      truncated: samples.length > query.limit,
    };
    if (info.unit !== null) series.unit = info.unit;
    return series;
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
      const [site = '', line = '', equipment = '', point = ''] = id.split('/');
      const where = [
        ['site', site],
        ['line', line],
        ['equipment', equipment],
        ['point', point],
      ]
        .map(([tag, value]) => `${quoteIdentifier(tag as string)} = ${quoteLiteral(value as string)}`)
        .join(' AND ');
      return (
        `SELECT "value", "value_bool", "value_str", "value_json", "quality" FROM ${quoteIdentifier(this.config.measurement)} ` +
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
        rows.map(([ts, value, valueBool, valueStr, valueJson, quality]) => ({
          ts: Number(ts),
          value: decodeFields(value, valueBool, valueStr, valueJson),
          quality: (quality ?? 'bad') as Quality,
        })),
      );
    }
    return result;
  }

  async ping(): Promise<void> {
    await this.catalog.ping();
    await this.influx.transport.request('/ping', null, { method: 'GET' });
  }

  async close(): Promise<void> {
    await this.catalog.close();
  }

  private async pointInfo(id: string): Promise<PointInfo | undefined> {
    const site = id.split('/')[0] ?? '';
    return (await this.catalog.points(site))?.find((point) => point.pointId === id);
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
