/**
 * The KPI rollups in the catalog (`rollups`, `rollup_state`): minute rows the rollup job writes,
 * hour rows summed from them in SQL (and those summed per line, what comparisons above the equipment
 * level read: a quarter of the rows or less), and where each site's job stands. Both stores keep them here;
 * the InfluxDB store also copies the rows to InfluxDB for Grafana (see `influx-store.ts`).
 */
import type Database from 'better-sqlite3';
import { CollectorError } from '../errors.js';
import {
  type ComponentKey,
  componentKeys,
  emptyComponents,
  HOUR_MS,
  MINUTE_MS,
  type RollupColumns,
  type RollupRow,
} from '../kpi/model.js';
import type { ReadColumns, ReadResult, ReadTask } from '../query/read-task.js';
import type { RollupQuery, RollupState } from './store.js';

/** The column of each component: its key in snake case (`energyLineKwh` → `energy_line_kwh`). */
export const columnOf = (key: ComponentKey) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const COLUMNS = componentKeys.map(columnOf);
const KEY_COLUMNS = 'resolution, site, start, line, equipment, planned';
const SUMS = COLUMNS.map((column) => `sum(${column})`).join(', ');

const floorTo = (ts: number, length: number) => ts - (((ts % length) + length) % length);

/** What `replace` wrote, as rows to copy elsewhere: zero rows stand for rows that are gone. */
export interface ReplacedRollups {
  minutes: RollupRow[];
  hours: RollupRow[];
}

interface KeyRow {
  start: number;
  line: string;
  equipment: string;
  planned: number;
}

const keyText = (row: { start: number; line: string; equipment: string; planned: boolean | number }) =>
  `${row.start}\u0000${row.line}\u0000${row.equipment}\u0000${row.planned ? 1 : 0}`;

export class RollupTable {
  private readonly statements;
  private readonly replaceTx: Database.Transaction<
    (site: string, from: number, to: number, rows: readonly RollupRow[], copy: boolean) => ReplacedRollups
  >;
  private readonly takeDirtyTx: Database.Transaction<(site: string) => number | null>;

  constructor(db: Database.Database) {
    const s = {
      markWritten: db.prepare(
        `INSERT INTO rollup_state (site, newest_ts, dirty_from) VALUES (@site, @newest, @oldest)
         ON CONFLICT (site) DO UPDATE SET newest_ts = max(newest_ts, excluded.newest_ts),
           dirty_from = min(coalesce(dirty_from, excluded.dirty_from), excluded.dirty_from)`,
      ),
      states: db.prepare<
        [],
        { site: string; newest_ts: number; dirty_from: number | null; cursor: number | null }
      >('SELECT site, newest_ts, dirty_from, cursor FROM rollup_state ORDER BY site'),
      dirtyOf: db.prepare<[string], { dirty_from: number | null }>(
        'SELECT dirty_from FROM rollup_state WHERE site = ?',
      ),
      // The cursor comes down with the taken mark, so the recompute it asks for survives a restart.
      take: db.prepare<[number, number, string]>(
        'UPDATE rollup_state SET dirty_from = NULL, cursor = min(coalesce(cursor, ?), ?) WHERE site = ?',
      ),
      setCursor: db.prepare<[number, string]>('UPDATE rollup_state SET cursor = ? WHERE site = ?'),
      keysIn: db.prepare<[string, string, number, number], KeyRow>(
        `SELECT start, line, equipment, planned FROM rollups
         WHERE resolution = ? AND site = ? AND start >= ? AND start <= ?`,
      ),
      deleteIn: db.prepare<[string, string, number, number]>(
        'DELETE FROM rollups WHERE resolution = ? AND site = ? AND start >= ? AND start <= ?',
      ),
      insert: db.prepare(
        `INSERT INTO rollups (${KEY_COLUMNS}, ${COLUMNS.join(', ')})
         VALUES ('1m', @site, @start, @line, @equipment, @planned, ${componentKeys.map((key) => `@${key}`).join(', ')})`,
      ),
      sumHours: db.prepare<[string, number, number]>(
        `INSERT INTO rollups (${KEY_COLUMNS}, ${COLUMNS.join(', ')})
         SELECT '1h', site, start - start % ${HOUR_MS} AS hour, line, equipment, planned, ${SUMS}
         FROM rollups WHERE resolution = '1m' AND site = ? AND start >= ? AND start < ?
         GROUP BY hour, line, equipment, planned`,
      ),
      sumLines: db.prepare<[string, number, number]>(
        `INSERT INTO rollups (${KEY_COLUMNS}, ${COLUMNS.join(', ')})
         SELECT '1h/line', site, start, line, '', planned, ${SUMS}
         FROM rollups WHERE resolution = '1h' AND site = ? AND start >= ? AND start <= ?
         GROUP BY start, line, planned`,
      ),
      rowsIn: db
        .prepare<[string, string, number, number]>(
          `SELECT start, line, equipment, planned, ${COLUMNS.join(', ')} FROM rollups
           WHERE resolution = ? AND site = ? AND start >= ? AND start <= ?`,
        )
        .raw(true),
      prune: db.prepare<[string, number]>(
        "DELETE FROM rollups WHERE resolution = '1m' AND site = ? AND start < ?",
      ),
      // Every site the registry or the job knows (rows may have been written for either).
      sites: db.prepare<[], { site: string }>(
        'SELECT id AS site FROM sites UNION SELECT site FROM rollup_state',
      ),
      oldestHour: db.prepare<[string], { oldest: number | null }>(
        "SELECT min(start) AS oldest FROM rollups WHERE resolution = '1h' AND site = ?",
      ),
      markFrom: db.prepare<[number, number, string]>(
        'UPDATE rollup_state SET dirty_from = min(coalesce(dirty_from, ?), ?) WHERE site = ?',
      ),
    };
    this.statements = s;

    this.takeDirtyTx = db.transaction((site: string): number | null => {
      const dirty = s.dirtyOf.get(site)?.dirty_from ?? null;
      if (dirty === null) return null;
      const minute = floorTo(dirty, MINUTE_MS);
      s.take.run(minute, minute, site);
      return dirty;
    });

    this.replaceTx = db.transaction((site, from, to, rows, copy): ReplacedRollups => {
      const firstHour = floorTo(from, HOUR_MS);
      const lastHour = floorTo(to, HOUR_MS);
      const goneMinutes = copy ? s.keysIn.all('1m', site, from, to) : [];
      const goneHours = copy ? s.keysIn.all('1h', site, firstHour, lastHour) : [];
      s.deleteIn.run('1m', site, from, to);
      for (const row of rows) {
        if (row.site !== site || row.start < from || row.start > to || row.start % MINUTE_MS !== 0) {
          throw new CollectorError(
            'STORE_FAILED',
            `rollup row ${row.site}/${row.line}/${row.equipment}@${row.start} is not a minute of ${site} in [${from}, ${to}]`,
          );
        }
        s.insert.run({ ...row, planned: row.planned ? 1 : 0 });
      }
      s.deleteIn.run('1h', site, firstHour, lastHour);
      s.sumHours.run(site, firstHour, lastHour + HOUR_MS);
      s.deleteIn.run('1h/line', site, firstHour, lastHour);
      s.sumLines.run(site, firstHour, lastHour);
      if (!copy) return { minutes: [], hours: [] };
      const hours = (s.rowsIn.all('1h', site, firstHour, lastHour) as unknown[][]).map((raw) =>
        rowOf(site, raw),
      );
      return {
        minutes: withZeroRows(site, rows, goneMinutes),
        hours: withZeroRows(site, hours, goneHours),
      };
    });
  }

  /** In the telemetry transaction: a site's batch stored with samples from `oldest` to `newest`. */
  markWritten(site: string, oldest: number, newest: number): void {
    this.statements.markWritten.run({ site, oldest, newest });
  }

  states(): RollupState[] {
    return this.statements.states.all().map((row) => ({
      site: row.site,
      newestTs: row.newest_ts,
      dirtyFrom: row.dirty_from,
      cursor: row.cursor,
    }));
  }

  takeDirty(site: string): number | null {
    return this.takeDirtyTx.immediate(site);
  }

  setCursor(site: string, cursor: number): void {
    this.statements.setCursor.run(cursor, site);
  }

  /**
   * Replaces the site's minute rows in [from, to] and re-sums the hours they touch, in one
   * transaction. With `copy`, answers the rows written, plus a zero row for each row that was there
   * before and is not any more, for a copy that can only overwrite (InfluxDB).
   */
  replace(site: string, from: number, to: number, rows: readonly RollupRow[], copy = false): ReplacedRollups {
    return this.replaceTx.immediate(site, from, to, rows, copy);
  }

  /** Per site (a key range each, not a scan of every minute row). */
  prune(before: number): number {
    let deleted = 0;
    for (const { site } of this.statements.sites.all())
      deleted += this.statements.prune.run(site, before).changes;
    return deleted;
  }

  /**
   * Lowers the mark of `site` (every site when undefined) to `from`, by default the start of the
   * site's oldest hour row, so the rollup job recomputes from there. Answers the sites marked.
   */
  markForRebuild(site?: string, from?: number): { site: string; from: number }[] {
    const sites = this.statements.sites.all().filter((row) => site === undefined || row.site === site);
    const marked: { site: string; from: number }[] = [];
    for (const row of sites) {
      const start = from ?? this.statements.oldestHour.get(row.site)?.oldest ?? null;
      if (start === null) continue;
      this.statements.markFrom.run(start, start, row.site);
      marked.push({ site: row.site, from: start });
    }
    return marked;
  }
}

/** The rows of `rows` and a zero row for each key of `gone` that is not among them. */
function withZeroRows(site: string, rows: readonly RollupRow[], gone: readonly KeyRow[]): RollupRow[] {
  const kept = new Set(rows.map(keyText));
  const zeros = gone
    .filter((key) => !kept.has(keyText(key)))
    .map((key) => ({
      site,
      line: key.line,
      equipment: key.equipment,
      start: key.start,
      planned: key.planned === 1,
      ...emptyComponents(),
    }));
  return [...rows, ...zeros];
}

/** A raw row (start, line, equipment, planned, components…) as a `RollupRow` of `site`. */
function rowOf(site: string, raw: unknown[]): RollupRow {
  const row = {
    site,
    start: Number(raw[0]),
    line: String(raw[1]),
    equipment: String(raw[2]),
    planned: raw[3] === 1,
  } as RollupRow;
  for (const [index, key] of componentKeys.entries()) row[key] = Number(raw[4 + index]);
  return row;
}

/** The rows a window is summed from: hour rows (summed per line when asked) for whole hours, else minute rows. */
function resolutionFor(query: RollupQuery): '1m' | '1h' | '1h/line' {
  if (query.windowMs % HOUR_MS !== 0) return '1m';
  return query.by === 'line' ? '1h/line' : '1h';
}

/**
 * A read of `readRollupColumns` for a read thread: one statement per site (a key range each), rows
 * summed into windows aligned to multiples of `windowMs` (and over each line with `by: 'line'`),
 * answered as columns: window, line, equipment, planned, the components, the rows summed.
 */
export function rollupReadTask(query: RollupQuery): ReadTask {
  const resolution = resolutionFor(query);
  const where = 'resolution = ? AND site = ? AND start >= ? AND start <= ?';
  // Rows as long as the window and not summed over equipment are the windows' sums already: read in
  // key order, without a sort (a month of hours at 1-hour windows, what compare asks most).
  const asStored =
    query.windowMs === (resolution === '1m' ? MINUTE_MS : HOUR_MS) &&
    !(resolution === '1m' && query.by === 'line');
  const equipment = query.by === 'line' ? "''" : 'equipment';
  const sql = asStored
    ? `SELECT start, line, equipment, planned, ${COLUMNS.join(', ')}, 1
       FROM rollups WHERE ${where} ORDER BY start, line, equipment, planned`
    : `SELECT start - start % ${query.windowMs} AS window, line, ${equipment} AS eq, planned, ${SUMS}, count(*)
       FROM rollups WHERE ${where} GROUP BY window, line, eq, planned ORDER BY window, line, eq, planned`;
  return {
    statements: query.sites.map((site) => ({ sql, params: [resolution, site, query.from, query.to] })),
    touchedColumn: 4 + componentKeys.length,
    maxTouched: Number.MAX_SAFE_INTEGER,
    columns: true,
    textColumns: [1, 2],
  };
}

/** The columns of a `rollupReadTask`, site by site as asked. */
export function decodeRollupColumns(query: RollupQuery, results: ReadResult[]): RollupColumns[] {
  return query.sites.map((site, index) => {
    const columns = (results[index] ?? []) as ReadColumns;
    const numbers = (at: number) => (columns[at] as Float64Array | undefined) ?? new Float64Array(0);
    return {
      site,
      start: numbers(0),
      line: (columns[1] as string[] | undefined) ?? [],
      equipment: (columns[2] as string[] | undefined) ?? [],
      planned: numbers(3),
      components: Object.fromEntries(componentKeys.map((key, at) => [key, numbers(4 + at)])) as Record<
        ComponentKey,
        Float64Array
      >,
    };
  });
}

/** Columns as rows, site after site, each row built in one literal (one shape for all). */
export function rowsOfColumns(sites: readonly RollupColumns[]): RollupRow[] {
  const rows: RollupRow[] = [];
  for (const { site, start, line, equipment, planned, components } of sites) {
    const {
      producingMs,
      idleMs,
      downMs,
      setupMs,
      maintenanceMs,
      failures,
      producedQty,
      goodQty,
      scrapQty,
      idealMs,
      valueAdded,
      energyEquipmentKwh,
      energyLineKwh,
      energySiteKwh,
      waterEquipmentM3,
      waterLineM3,
      waterSiteM3,
    } = components;
    for (let at = 0; at < start.length; at++) {
      rows.push({
        site,
        start: start[at] as number,
        line: line[at] as string,
        equipment: equipment[at] as string,
        planned: planned[at] === 1,
        producingMs: producingMs[at] as number,
        idleMs: idleMs[at] as number,
        downMs: downMs[at] as number,
        setupMs: setupMs[at] as number,
        maintenanceMs: maintenanceMs[at] as number,
        failures: failures[at] as number,
        producedQty: producedQty[at] as number,
        goodQty: goodQty[at] as number,
        scrapQty: scrapQty[at] as number,
        idealMs: idealMs[at] as number,
        valueAdded: valueAdded[at] as number,
        energyEquipmentKwh: energyEquipmentKwh[at] as number,
        energyLineKwh: energyLineKwh[at] as number,
        energySiteKwh: energySiteKwh[at] as number,
        waterEquipmentM3: waterEquipmentM3[at] as number,
        waterLineM3: waterLineM3[at] as number,
        waterSiteM3: waterSiteM3[at] as number,
      });
    }
  }
  return rows;
}
