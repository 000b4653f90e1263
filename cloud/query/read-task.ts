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
   * Each statement answers columns, not rows: every column one Float64Array (NULL as NaN), moved to
   * the caller without a copy, except the `textColumns`, each an array of its values (a string or
   * null). No array or object per row crosses the thread.
   */
  columns?: boolean;
  /** With `columns`: the indexes of the columns that hold text. */
  textColumns?: number[];
}

/** A `columns` task's answer to one statement: its columns in the order selected. */
export type ReadColumns = (Float64Array | (string | null)[])[];

/** Rows of a statement, or its columns for a `columns` task. */
export type ReadResult = unknown[][] | ReadColumns;

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
    // For a `columns` task: the columns being filled, `length` rows of `capacity` so far.
    const width = task.columns ? statement.columns().length : 0;
    let capacity = 1024;
    let packed: ReadColumns = Array.from({ length: width }, (_, index) =>
      task.textColumns?.includes(index) ? [] : new Float64Array(capacity),
    );
    let length = 0;
    for (const row of statement.iterate(...params) as IterableIterator<unknown[]>) {
      touched += column === undefined ? 1 : Number(row[column]);
      if (touched > task.maxTouched) return { status: 'over-budget' };
      stepped++;
      if (stepped % 4096 === 0 && Date.now() > deadline) return { status: 'timed-out' };
      if (!task.columns) rows.push(row);
      else {
        if (length === capacity) {
          capacity *= 2;
          packed = packed.map((values) => {
            if (Array.isArray(values)) return values;
            const grown = new Float64Array(capacity);
            grown.set(values);
            return grown;
          });
        }
        for (let index = 0; index < width; index++) {
          const values = packed[index] as ReadColumns[number];
          const cell = row[index];
          if (Array.isArray(values)) values.push(cell as string | null);
          else values[length] = cell === null ? Number.NaN : (cell as number);
        }
        length++;
      }
      if (++kept >= (task.maxRows ?? Number.POSITIVE_INFINITY)) break;
    }
    results.push(
      task.columns
        ? packed.map((values) => (Array.isArray(values) ? values : values.slice(0, length)))
        : rows,
    );
  }
  return { status: 'done', results };
}
