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
 *
 * KPI rollups (issue 12) live in the catalog like everywhere else (the compare API reads them there:
 * one code path for every store, VictoriaMetrics included), and `writeRollups` also copies them to
 * `<measurement>_kpi` so Grafana can chart KPIs from InfluxDB:
 *   tags   site, line, equipment, resolution (1m | 1h), planned (true | false)
 *   fields the components in snake case (producing_ms, good_qty, energy_line_kwh, …), floats
 *   time   the minute's or hour's start, ms
 * A recomputed row overwrites its point; a row that is gone is written as zeros (InfluxDB 1.x, 2.x
 * and VictoriaMetrics share no delete), which every sum of components reads as absent.
 */
import type { InfluxDB } from '@influxdata/influxdb-client';
import { type PointValue, parsePointId, type Quality } from '../../gateway/schema/index.js';
import type { AggregatedSample } from '../aggregate.js';
import type { InfluxStoreConfig } from '../config.js';
import { CollectorError } from '../errors.js';
import { componentKeys, type RollupRow, type ScalarSeries } from '../kpi/model.js';
import { type QueryLimits, timedOut, tooManySamples } from '../query/query-errors.js';
import { defaultReaderLimits, storeReaderOf } from '../query/store-reader.js';
import { SqliteCatalog } from './catalog.js';
import { escapeTag, influxClientOf, influxTlsOf, LineWriter, v1Parameters } from './influx-write.js';
import { columnOf } from './rollup-table.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import type {
  AggregatedSeries,
  AggregateQuery,
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

  constructor(
    private readonly config: InfluxStoreConfig,
    private readonly limits: Pick<
      QueryLimits,
      'readWorkers' | 'queryTimeoutMs' | 'maxQueuedQueries'
    > = defaultReaderLimits,
  ) {
    const catalog = openSqliteDatabase(config.catalogPath);
    super(catalog, storeReaderOf(catalog, config.catalogPath, limits));
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
    // A Sparkplug message without samples (a DDEATH, say) still numbers a batch, but sends no lines.
    if (judged.points.length > 0) await this.writer.write(judged);
    return this.writeJudgedTelemetry(judged, receivedAt);
  }

  series(query: SeriesQuery): Promise<Series | undefined> {
    return this.seriesFrom(query, async (limit) => {
      const [rows = []] = await this.statementRows([
        this.rawStatement(query.pointId, query.from, query.to, limit),
      ]);
      return rows.map(sampleOfRow);
    });
  }

  /**
   * `GROUP BY time()` in InfluxDB over the numeric `value` field, after a server-side count of the
   * samples the query would read refuses one over `maxSamples`. Boolean, text and array points have
   * no numeric field, so they have no values here (the SQLite store counts booleans as 0/1). Quality
   * is a string field, which InfluxQL cannot count conditionally in one statement: the bad and the
   * uncertain samples per window are two more statements (sent with the first, filtered on the
   * field), merged by window start. A window of bad samples only is answered with `value: null`,
   * as `aggregate()` does.
   */
  aggregateSeries(query: AggregateQuery): Promise<AggregatedSeries | undefined> {
    const { pointId, from, to, fn, windowMs, maxSamples } = query;
    return this.aggregatedFrom(query, async (maxWindows) => {
      const where = `${this.pointFilter(pointId)} AND time >= ${from}ms AND time <= ${to}ms`;
      const source = `FROM ${quoteIdentifier(this.config.measurement)} WHERE ${where}`;
      const [counted = []] = await this.statementRows([`SELECT count("quality") ${source}`]);
      if (Number(counted[0]?.[1] ?? 0) > maxSamples) throw tooManySamples('maxSamplesPerQuery', maxSamples);
      const grouped = `GROUP BY time(${windowMs}ms) fill(none)`;
      const countOf = (quality: Quality) =>
        `SELECT count("quality") ${source} AND "quality" = '${quality}' ${grouped}`;
      // The first `maxWindows` windows with a value or a bad sample are among the first `maxWindows`
      // of each; uncertain counts are wanted for all of those, so that statement has no LIMIT (the
      // API bounds the windows of a range by api.limits.maxBuckets).
      const [valued = [], bad = [], uncertain = []] = await this.statementRows([
        `SELECT ${fn}("value"), count("value") ${source} AND "quality" != 'bad' ${grouped} LIMIT ${maxWindows}`,
        `${countOf('bad')} LIMIT ${maxWindows}`,
        countOf('uncertain'),
      ]);
      const windows = new Map<number, AggregatedSample>();
      const windowAt = (ts: number) => {
        let window = windows.get(ts);
        if (!window) {
          window = { ts, value: null, count: 0, bad: 0, uncertain: 0 };
          windows.set(ts, window);
        }
        return window;
      };
      for (const [ts, value, count] of valued) {
        const window = windowAt(Number(ts));
        window.value = Number(value);
        window.count = Number(count);
      }
      for (const [ts, count] of bad) windowAt(Number(ts)).bad = Number(count);
      for (const [ts, count] of uncertain) {
        const window = windows.get(Number(ts));
        if (window) window.uncertain = Number(count);
      }
      return [...windows.values()].sort((a, b) => a.ts - b.ts).slice(0, maxWindows);
    });
  }

  /** One InfluxQL statement per point, sent together; good quality only; more than `maxSamples` in all is refused. */
  async scalarSamplesOf(
    pointIds: string[],
    from: number,
    to: number,
    maxSamples: number,
  ): Promise<Map<string, ScalarSeries>> {
    const series = new Map<string, ScalarSeries>();
    if (pointIds.length === 0) return series;
    const answers = await this.statementRows(
      pointIds.map(
        (id) =>
          `SELECT "value", "value_bool", "value_str" FROM ${quoteIdentifier(this.config.measurement)} ` +
          `WHERE ${this.pointFilter(id)} AND time >= ${from}ms AND time <= ${to}ms AND "quality" = 'good' ` +
          `ORDER BY time ASC LIMIT ${maxSamples + 1}`,
      ),
    );
    let touched = 0;
    for (const [index, rows] of answers.entries()) {
      touched += rows.length;
      if (touched > maxSamples) throw tooManySamples('maxRawSamplesPerQuery', maxSamples);
      const id = pointIds[index];
      const columns: ScalarSeries = { ts: [], value: [] };
      for (const [ts, value, valueBool, valueStr] of rows) {
        const scalar =
          typeof value === 'number' ? value : typeof valueBool === 'boolean' ? valueBool : valueStr;
        if (typeof scalar !== 'number' && typeof scalar !== 'boolean' && typeof scalar !== 'string') continue;
        columns.ts.push(Number(ts));
        columns.value.push(scalar);
      }
      if (id !== undefined && columns.ts.length > 0) series.set(id, columns);
    }
    return series;
  }

  /** The catalog first (what compare reads), then its minute and hour rows copied to `<measurement>_kpi`. */
  override async writeRollups(site: string, from: number, to: number, rows: RollupRow[]): Promise<void> {
    const { minutes, hours } = this.replaceRollups(site, from, to, rows, true);
    const prefix = `${escapeTag(`${this.config.measurement}_kpi`)},site=${escapeTag(site)}`;
    const lineOf = (resolution: string, row: RollupRow) =>
      `${prefix},line=${escapeTag(row.line)},equipment=${escapeTag(row.equipment)},resolution=${resolution},planned=${row.planned} ` +
      `${componentKeys.map((key) => `${columnOf(key)}=${row[key]}`).join(',')} ${row.start}`;
    await this.writer.writeLines([
      ...minutes.map((row) => lineOf('1m', row)),
      ...hours.map((row) => lineOf('1h', row)),
    ]);
  }

  private pointFilter(id: string): string {
    const parts = parsePointId(id);
    if (!parts) throw new CollectorError('STORE_FAILED', `not a point id: ${JSON.stringify(id)}`);
    return pointTags.map((tag) => `${quoteIdentifier(tag)} = ${quoteLiteral(parts[tag])}`).join(' AND ');
  }

  private rawStatement(id: string, from: number, to: number, limit: number): string {
    return (
      `SELECT "value", "value_bool", "value_str", "value_json", "quality", "out_of_range" FROM ${quoteIdentifier(this.config.measurement)} ` +
      `WHERE ${this.pointFilter(id)} AND time >= ${from}ms AND time <= ${to}ms ORDER BY time ASC LIMIT ${limit}`
    );
  }

  /** The rows of each statement (sent together), in statement order. */
  private async statementRows(statements: string[]): Promise<unknown[][][]> {
    const answer = await this.query(statements.join('; '));
    const rows: unknown[][][] = statements.map(() => []);
    for (const [index, statement] of (answer.results ?? []).entries()) {
      if (statement.error) throw new CollectorError('STORE_FAILED', `InfluxQL: ${statement.error}`);
      rows[statement.statement_id ?? index] = statement.series?.[0]?.values ?? [];
    }
    return rows;
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
    const signal = AbortSignal.timeout(this.limits.queryTimeoutMs);
    let answer: InfluxqlResult;
    try {
      answer = (await this.influx.transport.request(`/query?${params}`, null, {
        method: 'GET',
        signal,
      })) as InfluxqlResult;
    } catch (error) {
      if (signal.aborted) throw timedOut(this.limits.queryTimeoutMs);
      throw error;
    }
    if (answer.error) throw new CollectorError('STORE_FAILED', `InfluxQL: ${answer.error}`);
    return answer;
  }
}

function sampleOfRow([
  ts,
  value,
  valueBool,
  valueStr,
  valueJson,
  quality,
  outOfRange,
]: unknown[]): SeriesSample {
  const sample: SeriesSample = {
    ts: Number(ts),
    value: decodeFields(value, valueBool, valueStr, valueJson),
    quality: (quality ?? 'bad') as Quality,
  };
  if (typeof outOfRange === 'string') sample.outOfRange = outOfRange as OutOfRange;
  return sample;
}

function decodeFields(value: unknown, valueBool: unknown, valueStr: unknown, valueJson: unknown): PointValue {
  if (typeof value === 'number') return value;
  if (typeof valueBool === 'boolean') return valueBool;
  if (typeof valueStr === 'string') return valueStr;
  if (typeof valueJson === 'string') return JSON.parse(valueJson) as PointValue;
  return null;
}
