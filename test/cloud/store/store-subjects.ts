/**
 * The stores a test of the store contract runs against, each opened fresh: SQLite in memory, an
 * SQLite file read through read threads, and the InfluxDB 1.x store on a real influxd 1.6.7 (started
 * on first use). `cleanup` stops influxd and removes the files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Peer, startInfluxdb1 } from '../../../bench/collector-peers.js';
import { buildCollectorConfig, type InfluxStoreConfig } from '../../../cloud/config.js';
import { InfluxStore } from '../../../cloud/store/influx-store.js';
import { rowsOfColumns } from '../../../cloud/store/rollup-table.js';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import type { RollupQuery, TelemetryStore } from '../../../cloud/store/store.js';

export interface StoreSubject {
  store: TelemetryStore;
  /** The InfluxDB the store writes to, for checking what landed there. */
  influx?: { url: string; database: string };
  close(): Promise<void>;
}

export interface StoreSubjects {
  subjects: [string, () => Promise<StoreSubject>][];
  /** A fresh file path in the subjects' folder. */
  pathFor(name: string): string;
  cleanup(): Promise<void>;
}

export function storeSubjects(prefix: string): StoreSubjects {
  let dir: string | undefined;
  let influx: Peer | undefined;
  let opened = 0;
  const pathFor = (name: string) => {
    dir ??= mkdtempSync(join(tmpdir(), prefix));
    return join(dir, `${name}-${opened++}.db`);
  };
  const closing = (store: TelemetryStore): StoreSubject => ({ store, close: () => store.close() });
  return {
    pathFor,
    subjects: [
      ['SQLite (:memory:)', async () => closing(new SqliteStore(':memory:'))],
      ['SQLite file (read threads)', async () => closing(new SqliteStore(pathFor('store')))],
      [
        'InfluxDB 1.x (influxd 1.6.7)',
        async () => {
          influx ??= await startInfluxdb1();
          const database = `jjj${opened++}`;
          const url = influx.url;
          await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE ${database}`)}`, {
            method: 'POST',
          });
          const config = buildCollectorConfig({
            store: { type: 'influxdb', apiVersion: 1, url, database, catalogPath: pathFor(database) },
          }).store as InfluxStoreConfig;
          return { ...closing(new InfluxStore(config)), influx: { url, database } };
        },
      ],
    ],
    async cleanup() {
      await influx?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A store's rollups as rows (the store answers columns), for comparing in tests. */
export async function rollupRows(store: TelemetryStore, query: RollupQuery) {
  return rowsOfColumns(await store.readRollupColumns(query));
}
