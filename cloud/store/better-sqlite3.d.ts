/**
 * The part of better-sqlite3 v12 the collector uses. `@types/better-sqlite3` is not installed;
 * delete this file once it is.
 */
declare module 'better-sqlite3' {
  namespace Database {
    type BindValue = number | bigint | string | Buffer | null;
    type BindParameters = BindValue[] | [Record<string, BindValue>];

    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement<Row = unknown> {
      run(...params: BindParameters): RunResult;
      get(...params: BindParameters): Row | undefined;
      all(...params: BindParameters): Row[];
    }

    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      timeout?: number;
    }

    interface Database {
      readonly open: boolean;
      readonly inTransaction: boolean;
      prepare<Row = unknown>(sql: string): Statement<Row>;
      exec(sql: string): this;
      pragma(sql: string, options?: { simple?: boolean }): unknown;
      transaction<Args extends unknown[], Result>(fn: (...args: Args) => Result): (...args: Args) => Result;
      close(): this;
    }
  }

  const Database: {
    new (filename: string, options?: Database.Options): Database.Database;
  };

  export = Database;
}
