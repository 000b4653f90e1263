/**
 * The SQLite file: opening it (WAL, shared by several collector instances) and its schema as an
 * ordered list of migrations. `PRAGMA user_version` counts the migrations a file has had; opening
 * runs the ones it lacks, in one transaction. A schema change is a new migration at the end of the
 * list, never an edit of one that has shipped.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { IN_MEMORY } from '../config.js';
import { CollectorError } from '../errors.js';

interface Migration {
  /** What the migration brings, for a reader of this list. */
  what: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    what: 'sites, gateways, batches, points, samples, latest values, dead letters',
    sql: `
CREATE TABLE sites (
  id      TEXT PRIMARY KEY,
  name_en TEXT,
  name_zh TEXT,
  region  TEXT NOT NULL,
  project TEXT NOT NULL,
  gateway TEXT NOT NULL
);
CREATE TABLE gateways (
  id        TEXT PRIMARY KEY,
  site      TEXT NOT NULL,
  state     TEXT CHECK (state IN ('online', 'offline')),
  state_ts  INTEGER,
  boot      INTEGER NOT NULL,
  last_seq  INTEGER,
  last_seen INTEGER
);
CREATE TABLE batches (
  gateway     TEXT NOT NULL,
  boot        INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  points      INTEGER NOT NULL,
  historical  INTEGER NOT NULL,
  PRIMARY KEY (gateway, boot, seq)
) WITHOUT ROWID;
CREATE TABLE points (
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
CREATE INDEX points_by_site ON points (site);
CREATE TABLE samples (
  point_id    TEXT NOT NULL,
  ts          INTEGER NOT NULL,
  value,
  value_type  TEXT NOT NULL,
  quality     TEXT NOT NULL,
  status_code INTEGER,
  server_ts   INTEGER,
  PRIMARY KEY (ts, point_id)
) WITHOUT ROWID;
CREATE TABLE latest (
  point_id   TEXT PRIMARY KEY,
  site       TEXT NOT NULL,
  value,
  value_type TEXT NOT NULL,
  quality    TEXT NOT NULL,
  status     TEXT,
  ts         INTEGER NOT NULL
);
CREATE INDEX latest_by_site ON latest (site);
CREATE TABLE rejected (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at  INTEGER NOT NULL,
  topic        TEXT NOT NULL,
  reason       TEXT NOT NULL,
  detail       TEXT NOT NULL,
  payload      BLOB NOT NULL,
  payload_size INTEGER NOT NULL
);`,
  },
  {
    what: 'when each batch was sent, for completeness over a time window',
    sql: `
ALTER TABLE batches ADD COLUMN sent_ts INTEGER;
CREATE INDEX batches_by_sent ON batches (sent_ts);`,
  },
  {
    what: 'API users (scrypt hashes), API tokens and sessions (hashes only), commands sent and their outcome',
    sql: `
CREATE TABLE users (
  name          TEXT PRIMARY KEY,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE TABLE api_tokens (
  id         TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  user       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  label      TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE TABLE sessions (
  id_hash    TEXT PRIMARY KEY,
  user       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE commands (
  id           TEXT PRIMARY KEY,
  requested_at INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  region       TEXT NOT NULL,
  site         TEXT NOT NULL,
  gateway      TEXT NOT NULL,
  writes       TEXT NOT NULL,
  expires_ts   INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  ack          TEXT,
  acked_at     INTEGER
);
CREATE INDEX commands_by_site ON commands (site, requested_at);
CREATE INDEX commands_by_time ON commands (requested_at);`,
  },
  {
    what: "points' declared range, and the out-of-range mark of samples and latest values",
    sql: `
ALTER TABLE points ADD COLUMN min_value REAL;
ALTER TABLE points ADD COLUMN max_value REAL;
ALTER TABLE samples ADD COLUMN out_of_range TEXT CHECK (out_of_range IN ('above-max', 'below-min'));
ALTER TABLE latest ADD COLUMN out_of_range TEXT CHECK (out_of_range IN ('above-max', 'below-min'));`,
  },
  {
    what: "points' KPI role; per-minute and per-hour KPI rollups and where each site's rollup job stands",
    // Keyed for reads by site and time (resolution first: minute and hour rows are read apart);
    // '1h/line' rows are the hour rows summed per line (equipment ''), for the levels above equipment.
    // Components are REAL: SQLite writes integral values of a REAL column as small integers.
    sql: `
ALTER TABLE points ADD COLUMN kpi_role TEXT;
CREATE TABLE rollups (
  resolution           TEXT NOT NULL CHECK (resolution IN ('1m', '1h', '1h/line')),
  site                 TEXT NOT NULL,
  start                INTEGER NOT NULL,
  line                 TEXT NOT NULL,
  equipment            TEXT NOT NULL,
  planned              INTEGER NOT NULL,
  producing_ms         REAL NOT NULL,
  idle_ms              REAL NOT NULL,
  down_ms              REAL NOT NULL,
  setup_ms             REAL NOT NULL,
  maintenance_ms       REAL NOT NULL,
  failures             REAL NOT NULL,
  produced_qty         REAL NOT NULL,
  good_qty             REAL NOT NULL,
  scrap_qty            REAL NOT NULL,
  ideal_ms             REAL NOT NULL,
  value_added          REAL NOT NULL,
  energy_equipment_kwh REAL NOT NULL,
  energy_line_kwh      REAL NOT NULL,
  energy_site_kwh      REAL NOT NULL,
  water_equipment_m3   REAL NOT NULL,
  water_line_m3        REAL NOT NULL,
  water_site_m3        REAL NOT NULL,
  PRIMARY KEY (resolution, site, start, line, equipment, planned)
) WITHOUT ROWID;
CREATE TABLE rollup_state (
  site       TEXT PRIMARY KEY,
  newest_ts  INTEGER NOT NULL,
  dirty_from INTEGER,
  cursor     INTEGER
);`,
  },
  {
    what: 'batch rollups: per gateway, boot and minute or hour sent, the seq span and the batches received',
    // Keyed for a gateway's time range. Minute rows serve 1m/5m windows and go with the minute KPI
    // rollups; hour rows are kept. Backfilled from the batches that have a send time.
    sql: `
CREATE TABLE batch_rollups (
  resolution TEXT NOT NULL CHECK (resolution IN ('1m', '1h')),
  gateway    TEXT NOT NULL,
  start      INTEGER NOT NULL,
  boot       INTEGER NOT NULL,
  min_seq    INTEGER NOT NULL,
  max_seq    INTEGER NOT NULL,
  received   INTEGER NOT NULL,
  PRIMARY KEY (resolution, gateway, start, boot)
) WITHOUT ROWID;
INSERT INTO batch_rollups (resolution, gateway, start, boot, min_seq, max_seq, received)
SELECT '1m', gateway, sent_ts - sent_ts % 60000 AS minute, boot, min(seq), max(seq), count(*)
FROM batches WHERE sent_ts IS NOT NULL GROUP BY gateway, minute, boot;
INSERT INTO batch_rollups (resolution, gateway, start, boot, min_seq, max_seq, received)
SELECT '1h', gateway, start - start % 3600000 AS hour, boot, min(min_seq), max(max_seq), sum(received)
FROM batch_rollups WHERE resolution = '1m' GROUP BY gateway, hour, boot;`,
  },
  {
    what: "points' writable flag (the gateway's config allows commands to write them)",
    // NULL for points whose metadata never said (learned from telemetry, or from an older collector).
    sql: `
ALTER TABLE points ADD COLUMN writable INTEGER CHECK (writable IN (0, 1));`,
  },
  {
    what: 'per boot: the highest seq and the batches received; the runs of seq never received',
    // Kept at ingest, so the gateways list and the gaps read a row per boot and per gap instead of
    // every batch ever received (tens of millions after a year at a batch a second).
    sql: `
CREATE TABLE boot_batches (
  gateway  TEXT NOT NULL,
  boot     INTEGER NOT NULL,
  top      INTEGER NOT NULL,
  received INTEGER NOT NULL,
  PRIMARY KEY (gateway, boot)
) WITHOUT ROWID;
INSERT INTO boot_batches (gateway, boot, top, received)
  SELECT gateway, boot, max(seq), count(*) FROM batches GROUP BY gateway, boot;
CREATE TABLE batch_gaps (
  gateway  TEXT NOT NULL,
  boot     INTEGER NOT NULL,
  from_seq INTEGER NOT NULL,
  to_seq   INTEGER NOT NULL,
  PRIMARY KEY (gateway, boot, from_seq)
) WITHOUT ROWID;
INSERT INTO batch_gaps (gateway, boot, from_seq, to_seq)
  SELECT gateway, boot, previous + 1, seq - 1 FROM (
    SELECT gateway, boot, seq, coalesce(lag(seq) OVER (PARTITION BY gateway, boot ORDER BY seq), -1) AS previous
    FROM batches
  ) WHERE seq > previous + 1;`,
  },
  {
    what: "points' original name when they come from another vendor's Sparkplug node (group/node/device/metric)",
    sql: `
ALTER TABLE points ADD COLUMN source_name TEXT;`,
  },
];

/**
 * The migrations a file has had. Files written before the schema was versioned have user_version 0:
 * they are placed once by their shape (with or without `batches.sent_ts`).
 */
function versionOf(db: Database.Database): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > 0) return version;
  const batchColumns = db.prepare<[], { name: string }>('PRAGMA table_info(batches)').all();
  if (batchColumns.length === 0) return 0;
  return batchColumns.some((column) => column.name === 'sent_ts') ? 2 : 1;
}

function migrate(db: Database.Database): void {
  // Immediate: of several instances opening one file together, one migrates and the others find it done.
  db.transaction(() => {
    const version = versionOf(db);
    if (version > migrations.length) {
      throw new Error(
        `its schema version ${version} is newer than this collector's (${migrations.length}): run a newer collector`,
      );
    }
    for (const migration of migrations.slice(version)) db.exec(migration.sql);
    db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}

/** Opens (or creates) the file and brings its schema up to date. */
export function openSqliteDatabase(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== IN_MEMORY) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Samples are clustered by time, so a batch appends at the end of the tree instead of touching
    // one page per point; a larger cache and fewer checkpoints keep that append cheap.
    db.pragma('cache_size = -65536');
    db.pragma('wal_autocheckpoint = 10000');
    // Several collector instances may share one file: wait for each other's transactions.
    db.pragma('busy_timeout = 10000');
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    throw new CollectorError(
      'STORE_OPEN_FAILED',
      `cannot open SQLite store ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
