/**
 * Files written before the schema was versioned open and migrate: the DDL the collector used then
 * is kept here as it was, written, and the file opened by today's store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../../cloud/store/sqlite-schema.js';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import { GATEWAY, SITE, TS, telemetry } from '../fixtures.js';

/** The DDL of the unversioned store, as `cloud/store/sqlite-store.ts` ran it on every open. */
const UNVERSIONED_DDL = `
CREATE TABLE IF NOT EXISTS sites (
  id      TEXT PRIMARY KEY,
  name_en TEXT,
  name_zh TEXT,
  region  TEXT NOT NULL,
  project TEXT NOT NULL,
  gateway TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateways (
  id        TEXT PRIMARY KEY,
  site      TEXT NOT NULL,
  state     TEXT CHECK (state IN ('online', 'offline')),
  state_ts  INTEGER,
  boot      INTEGER NOT NULL,
  last_seq  INTEGER,
  last_seen INTEGER
);
CREATE TABLE IF NOT EXISTS batches (
  gateway     TEXT NOT NULL,
  boot        INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  points      INTEGER NOT NULL,
  historical  INTEGER NOT NULL,
  sent_ts     INTEGER,
  PRIMARY KEY (gateway, boot, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
  point_id    TEXT PRIMARY KEY,
  site        TEXT NOT NULL,
  line        TEXT NOT NULL,
  equipment   TEXT NOT NULL,
  point       TEXT NOT NULL,
  protocol    TEXT,
  address     TEXT,
  data_type   TEXT,
  unit        TEXT,
  description TEXT
);
CREATE INDEX IF NOT EXISTS points_by_site ON points (site);
CREATE TABLE IF NOT EXISTS samples (
  point_id    TEXT NOT NULL,
  ts          INTEGER NOT NULL,
  value,
  value_type  TEXT NOT NULL,
  quality     TEXT NOT NULL,
  status_code INTEGER,
  server_ts   INTEGER,
  PRIMARY KEY (ts, point_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
  point_id   TEXT PRIMARY KEY,
  site       TEXT NOT NULL,
  value,
  value_type TEXT NOT NULL,
  quality    TEXT NOT NULL,
  status     TEXT,
  ts         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS latest_by_site ON latest (site);
CREATE INDEX IF NOT EXISTS batches_by_sent ON batches (sent_ts);
CREATE TABLE IF NOT EXISTS rejected (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at  INTEGER NOT NULL,
  topic        TEXT NOT NULL,
  reason       TEXT NOT NULL,
  detail       TEXT NOT NULL,
  payload      BLOB NOT NULL,
  payload_size INTEGER NOT NULL
);
`;

/** The first release's DDL: no `batches.sent_ts` yet, samples clustered by point. */
const FIRST_RELEASE_DDL = UNVERSIONED_DDL.replace('  sent_ts     INTEGER,\n', '')
  .replace('PRIMARY KEY (ts, point_id)', 'PRIMARY KEY (point_id, ts)')
  .replace('CREATE INDEX IF NOT EXISTS batches_by_sent ON batches (sent_ts);\n', '');

const SPINDLE = `${SITE}/machining/cnc-01/spindle-speed`;

/** A file as the old collector left it: one site, its gateway, a batch, a point with a sample, a dead letter. */
function writeOldFile(path: string, ddl: string, withSentTs: boolean): void {
  const db = new Database(path);
  db.exec(ddl);
  db.exec(`
    INSERT INTO sites (id, name_en, name_zh, region, project, gateway)
      VALUES ('${SITE}', 'E-Town CNC Workshop', '亦庄数控车间', 'BJ', 'etown-smart-factory', '${GATEWAY}');
    INSERT INTO gateways (id, site, state, state_ts, boot, last_seq, last_seen)
      VALUES ('${GATEWAY}', '${SITE}', 'online', ${TS}, 1, 0, ${TS});
    INSERT INTO points (point_id, site, line, equipment, point, protocol, address, data_type, unit)
      VALUES ('${SPINDLE}', '${SITE}', 'machining', 'cnc-01', 'spindle-speed', 'opcua', 'ns=1;s=x', 'float64', 'RPM');
    INSERT INTO samples (point_id, ts, value, value_type, quality) VALUES ('${SPINDLE}', ${TS}, 12000.5, 'number', 'good');
    INSERT INTO latest (point_id, site, value, value_type, quality, ts)
      VALUES ('${SPINDLE}', '${SITE}', 12000.5, 'number', 'good', ${TS});
    INSERT INTO rejected (received_at, topic, reason, detail, payload, payload_size)
      VALUES (${TS}, 'jjj/v1/BJ/x/y/telemetry', 'bad-json', 'Unexpected token', X'7B', 1);
  `);
  if (withSentTs) {
    db.exec(`INSERT INTO batches (gateway, boot, seq, received_at, points, historical, sent_ts)
      VALUES ('${GATEWAY}', 1, 0, ${TS}, 1, 0, ${TS})`);
  } else {
    db.exec(`INSERT INTO batches (gateway, boot, seq, received_at, points, historical)
      VALUES ('${GATEWAY}', 1, 0, ${TS}, 1, 0)`);
  }
  db.close();
}

/** Every table's and index's columns, to compare a migrated file with a fresh one. */
function shapeOf(path: string): Record<string, string[]> {
  const db = new Database(path, { readonly: true });
  try {
    const objects = db
      .prepare<[], { name: string; type: string }>(
        "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all();
    return Object.fromEntries(
      objects.map(({ name, type }) => [
        name,
        db
          .prepare<[], { name: string; notnull: number }>(
            `PRAGMA ${type === 'index' ? 'index_info' : 'table_info'}(${name})`,
          )
          .all()
          .map((column) => `${column.name}${column.notnull ? ' not null' : ''}`),
      ]),
    );
  } finally {
    db.close();
  }
}

const userVersion = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true });
  } finally {
    db.close();
  }
};

describe('SQLite schema migrations', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-migrate-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['the unversioned store', UNVERSIONED_DDL, true],
    ['the first release', FIRST_RELEASE_DDL, false],
  ])('opens a file of %s, keeps its data and brings it up to date', async (_name, ddl, withSentTs) => {
    const path = join(dir, 'old.db');
    writeOldFile(path, ddl, withSentTs);

    const store = new SqliteStore(path);
    try {
      expect(await store.listSites()).toMatchObject([
        { id: SITE, name: 'E-Town CNC Workshop', online: true, points: 1, lastTs: TS, protocols: ['opcua'] },
      ]);
      expect(await store.series({ pointId: SPINDLE, from: TS, to: TS, limit: 10 })).toEqual({
        point: SPINDLE,
        unit: 'RPM',
        samples: [{ ts: TS, value: 12000.5, quality: 'good' }],
        truncated: false,
      });
      expect(await store.deadLetters({ limit: 10 })).toMatchObject([{ reason: 'bad-json' }]);
      // The old batch still dedupes; the next one is stored with its send time.
      expect(await store.writeTelemetry(telemetry(), TS)).toEqual({ outcome: 'duplicate' });
      const next = telemetry({ gateway: { id: GATEWAY, boot: 1, seq: 1 }, sentTs: TS + 2000 });
      expect(await store.writeTelemetry(next, TS + 2000)).toMatchObject({ outcome: 'stored' });
      expect(await store.completeness(SITE, TS + 1000, TS + 3000)).toEqual({
        expectedBatches: 1,
        receivedBatches: 1,
      });
    } finally {
      await store.close();
    }
    expect(userVersion(path)).toBe(migrations.length);
  });

  it('gives a fresh file the tables of an unversioned file brought up to date', async () => {
    const fresh = join(dir, 'fresh.db');
    await new SqliteStore(fresh).close();
    const old = join(dir, 'old.db');
    writeOldFile(old, UNVERSIONED_DDL, true);
    await new SqliteStore(old).close();
    expect(shapeOf(fresh)).toEqual(shapeOf(old));
    expect(userVersion(fresh)).toBe(migrations.length);
  });

  it('refuses a file from a newer collector instead of guessing', () => {
    const path = join(dir, 'newer.db');
    const db = new Database(path);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    expect(() => new SqliteStore(path)).toThrow(
      expect.objectContaining({ code: 'STORE_OPEN_FAILED', message: expect.stringContaining('newer') }),
    );
  });
});
