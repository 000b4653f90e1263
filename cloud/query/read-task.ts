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
  /** Rows the caller can use at most: the task ends (done) once it has them. */
  maxRows?: number;
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

/**
 * Runs `task` on `db`; `deadline` is a `Date.now()` time. Rows are stepped through one at a time, so
 * the budget stops a read at the first sample over it and the clock is checked within a long
 * statement too (every few thousand rows), not only between statements.
 */
export function runReadTask(
  db: Database.Database,
  prepared: Map<string, Database.Statement>,
  task: ReadTask,
  deadline: number,
): ReadOutcome {
  const results: ReadResult[] = [];
  const column = task.touchedColumn;
  let touched = 0;
  let stepped = 0;
  let kept = 0;
  for (const { sql, params } of task.statements) {
    if (kept >= (task.maxRows ?? Number.POSITIVE_INFINITY)) break;
    if (Date.now() > deadline) return { status: 'timed-out' };
    let statement = prepared.get(sql);
    if (!statement) {
      statement = db.prepare(sql).raw(true);
      prepared.set(sql, statement);
    }
    const rows: unknown[][] = [];
    let ts = new Float64Array(1024);
    let value = new Float64Array(1024);
    let length = 0;
    for (const row of statement.iterate(...params) as IterableIterator<unknown[]>) {
      touched += column === undefined ? 1 : Number(row[column]);
      if (touched > task.maxTouched) return { status: 'over-budget' };
      stepped++;
      if (stepped % 4096 === 0 && Date.now() > deadline) return { status: 'timed-out' };
      if (!task.columns) {
        rows.push(row);
        if (++kept >= (task.maxRows ?? Number.POSITIVE_INFINITY)) break;
        continue;
      }
      if (length === ts.length) {
        const grownTs = new Float64Array(length * 2);
        const grownValue = new Float64Array(length * 2);
        grownTs.set(ts);
        grownValue.set(value);
        ts = grownTs;
        value = grownValue;
      }
      ts[length] = row[0] as number;
      value[length] = row[1] === null ? Number.NaN : (row[1] as number);
      length++;
    }
    results.push(task.columns ? [ts.slice(0, length), value.slice(0, length)] : rows);
  }
  return { status: 'done', results };
}
