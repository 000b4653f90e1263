/**
 * One heavy read of the SQLite store: statements run in order on a read connection, each a short
 * slice of the query, with the samples they touch counted against a budget and the clock checked
 * between slices. `runReadTask` runs in a read thread (see `sqlite-read-pool.ts`), so it must stay
 * self-contained: no imports, no helpers outside its body.
 */
import type Database from 'better-sqlite3';

export interface ReadStatement {
  sql: string;
  params: (number | string)[];
}

export interface ReadTask {
  statements: ReadStatement[];
  /** Index of the column counting the samples a row stands for; without it each row is one sample. */
  touchedColumn?: number;
  /** Most samples the task may touch; the task stops as soon as it has touched more. */
  maxTouched: number;
  /**
   * Statements select (ts, number or NULL): each result comes back as two Float64Arrays (NULL as
   * NaN), moved to the caller without a copy and without an object per row.
   */
  columns?: boolean;
}

/** Rows of a statement, or its two columns for a `columns` task. */
export type ReadResult = unknown[][] | [Float64Array, Float64Array];

export type ReadOutcome =
  | { status: 'done'; results: ReadResult[] }
  | { status: 'over-budget' }
  | { status: 'timed-out' };

/** Runs `task` on `db`; `deadline` is a `Date.now()` time. */
export function runReadTask(
  db: Database.Database,
  prepared: Map<string, Database.Statement>,
  task: ReadTask,
  deadline: number,
): ReadOutcome {
  const results: ReadResult[] = [];
  let touched = 0;
  for (const { sql, params } of task.statements) {
    if (Date.now() > deadline) return { status: 'timed-out' };
    let statement = prepared.get(sql);
    if (!statement) {
      statement = db.prepare(sql).raw(true);
      prepared.set(sql, statement);
    }
    const result = statement.all(...params) as unknown[][];
    const column = task.touchedColumn;
    if (column === undefined) touched += result.length;
    else for (const row of result) touched += Number(row[column]);
    if (touched > task.maxTouched) return { status: 'over-budget' };
    if (!task.columns) {
      results.push(result);
      continue;
    }
    const ts = new Float64Array(result.length);
    const value = new Float64Array(result.length);
    for (let i = 0; i < result.length; i++) {
      const row = result[i] as [number, number | null];
      ts[i] = row[0];
      value[i] = row[1] === null ? Number.NaN : row[1];
    }
    results.push([ts, value]);
  }
  return { status: 'done', results };
}
