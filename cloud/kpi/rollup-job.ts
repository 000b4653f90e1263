/**
 * The rollup job: turns each site's raw role-point samples into per-minute KPI rows in the store
 * (which sums them into hours), continuously, so comparisons never read raw samples.
 *
 * Every `kpi.rollups.intervalMs`, for each site whose samples were written since (`dirtyFrom`):
 * start = min(minute of `dirtyFrom`, cursor); samples [start, newest] are read in chunks of at most
 * `maxChunkMs` (halved while a read is refused), minute rows computed (`computeMinuteRollups`) and
 * written, and the cursor moved to the minute of newest − `graceMs` (rows after it stay open for
 * slightly late gateways). The samples each chunk needs from before it (the carry: each role point's
 * last good sample) come from the previous chunk, kept in memory per site; after late data (a
 * replayed outage moved start below the cursor) or at the job's first run they are read again from
 * the `lookbackMs` before start. The store lowers the persisted cursor as it hands out a mark, so a
 * restart continues where the work stands. Minute rows older than `minuteRetentionDays` are pruned
 * once an hour (hour rows are kept); a recompute reaching into pruned minutes starts on the hour, so
 * the hours it re-sums are whole.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { QueryRefusedError } from '../query/query-errors.js';
import type { RollupState, TelemetryStore } from '../store/store.js';
import { plannedMinutes } from './calendar.js';
import type { KpiConfig } from './config.js';
import { carryBefore, computeMinuteRollups } from './minutes.js';
import { HOUR_MS, MINUTE_MS, type ScalarSample, type SitePlan } from './model.js';
import { planSite } from './plan.js';

const DAY_MS = 24 * HOUR_MS;
const floorTo = (ts: number, length: number) => ts - (((ts % length) + length) % length);
const iso = (ts: number) => new Date(ts).toISOString();

export interface RollupJobOptions {
  store: TelemetryStore;
  config: KpiConfig;
  logger: Logger;
  /** Most samples one read may hold (the collector passes `api.limits.maxRawSamplesPerQuery`). */
  maxSamples: number;
  /** Where the job's Prometheus metrics are registered (the collector's registry). */
  registry?: Registry;
  now?: () => number;
  /** Called after each chunk a site's rows were written for (the rebuild CLI prints it). */
  onProgress?: (progress: { site: string; through: number; newestTs: number }) => void;
}

/** What this instance holds of a site: the carry belongs to `cursor`. */
interface SiteCarry {
  cursor: number;
  carry: Map<string, ScalarSample>;
}

export interface RollupRun {
  /** Sites whose rows were recomputed. */
  sites: number;
  /** Minute rows' worth of time computed (per site, not per equipment). */
  minutes: number;
  /** Sites whose recompute failed (logged; retried at the next run). */
  failed: string[];
}

export class RollupJob {
  private readonly store: TelemetryStore;
  private readonly config: KpiConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly held = new Map<string, SiteCarry>();
  /** Sites whose last attempt failed: logged once, retried every run. */
  private readonly failing = new Set<string>();
  private runFailing = false;
  private firstRunDone = false;
  private prunedBefore = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly metrics;

  constructor(private readonly options: RollupJobOptions) {
    this.store = options.store;
    this.config = options.config;
    this.logger = options.logger.child({ component: 'rollup-job' });
    this.now = options.now ?? Date.now;
    const registers = options.registry ? [options.registry] : [];
    this.metrics = {
      minutes: new Counter({
        name: 'jjj_collector_kpi_minutes_rolled_up_total',
        help: 'Site-minutes the rollup job computed (recomputes included)',
        registers,
      }),
      seconds: new Histogram({
        name: 'jjj_collector_kpi_recompute_seconds',
        help: "Time to bring one site's rollups up to date in one run",
        buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
        registers,
      }),
      lag: new Gauge({
        name: 'jjj_collector_kpi_rollup_lag_seconds',
        help: "Now minus the site's rollup cursor (rows before it are final)",
        labelNames: ['site'] as const,
        registers,
      }),
      failures: new Counter({
        name: 'jjj_collector_kpi_rollup_failures_total',
        help: 'Site runs of the rollup job that failed (retried at the next run)',
        registers,
      }),
    };
  }

  /** Runs now, then every `intervalMs` after each run ends (runs never overlap). */
  start(): void {
    if (this.timer || this.running || this.stopped) return;
    const tick = () => {
      this.timer = undefined;
      this.running = this.runOnce()
        .then(
          () => {
            if (this.runFailing) this.logger.info('rollup job: store answers again');
            this.runFailing = false;
          },
          (error: unknown) => {
            if (!this.runFailing)
              this.logger.warn({ err: error }, `rollup job failed: ${(error as Error).message}`);
            this.runFailing = true;
          },
        )
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.config.rollups.intervalMs);
        });
    };
    tick();
  }

  /** Clears the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every site that needs it; a site's failure is logged and retried next time. */
  async runOnce(): Promise<RollupRun> {
    const run: RollupRun = { sites: 0, minutes: 0, failed: [] };
    const grace = this.config.rollups.graceMs;
    for (const state of await this.store.rollupStates()) {
      if (this.stopped) break;
      const behind = state.cursor === null || state.cursor < floorTo(state.newestTs - grace, MINUTE_MS);
      if (state.dirtyFrom === null && !behind && !this.failing.has(state.site)) {
        this.reportLag(state.site, state.cursor);
        continue;
      }
      const started = performance.now();
      try {
        const minutes = await this.rollUp(state);
        run.sites++;
        run.minutes += minutes;
        this.metrics.seconds.observe((performance.now() - started) / 1000);
        if (this.failing.delete(state.site))
          this.logger.info({ site: state.site }, 'rollups of the site recovered');
      } catch (error) {
        // The carry may not match the persisted cursor any more: read it again next time.
        this.held.delete(state.site);
        this.metrics.failures.inc();
        run.failed.push(state.site);
        if (!this.failing.has(state.site))
          this.logger.warn(
            { err: error, site: state.site },
            `rollups of ${state.site} failed: ${(error as Error).message}`,
          );
        this.failing.add(state.site);
      }
    }
    await this.prune();
    if (!this.firstRunDone) {
      this.firstRunDone = true;
      this.logger.info(run, 'rollup job: first run done');
    }
    return run;
  }

  /** Brings one site's rows up to date; answers the minutes computed. */
  private async rollUp(state: RollupState): Promise<number> {
    const { site, newestTs } = state;
    const { graceMs, maxChunkMs } = this.config.rollups;
    const dirty = state.dirtyFrom === null ? null : await this.store.takeRollupDirty(site);
    let start = Math.min(
      state.cursor ?? Number.POSITIVE_INFINITY,
      dirty === null ? Number.POSITIVE_INFINITY : floorTo(dirty, MINUTE_MS),
    );
    if (!Number.isFinite(start)) return 0;
    // Minutes before the horizon are pruned: recompute whole hours there, so their re-sum is complete.
    if (start < this.pruneHorizon()) start = floorTo(start, HOUR_MS);

    const plan = planSite(site, (await this.store.points(site)) ?? []);
    const isPlanned = plannedMinutes(this.config, site);
    const held = this.held.get(site);
    const reached = held?.cursor ?? state.cursor;
    if (reached !== null && start < reached)
      this.logger.info(
        { site, from: iso(start), to: iso(reached) },
        `late data: recomputing rollups of ${site} from ${iso(start)}`,
      );
    let carry = held?.cursor === start ? held.carry : await this.carryAt(plan, start);

    let minutes = 0;
    let chunk = maxChunkMs;
    for (;;) {
      const end = Math.min(start + chunk, newestTs);
      if (end < start) {
        this.held.set(site, { cursor: start, carry });
        return minutes;
      }
      let samples: Awaited<ReturnType<TelemetryStore['scalarSamplesOf']>>;
      try {
        samples = await this.store.scalarSamplesOf(plan.pointIds, start, end, this.options.maxSamples);
      } catch (error) {
        if (!(error instanceof QueryRefusedError) || error.code === 'QUERY_BUSY' || chunk <= MINUTE_MS)
          throw error;
        chunk = Math.max(MINUTE_MS, floorTo(chunk / 2, MINUTE_MS));
        continue;
      }
      const rows = computeMinuteRollups({
        plan,
        isPlanned,
        from: start,
        to: end,
        observedUntil: end,
        carry,
        samples,
      });
      await this.store.writeRollups(site, start, end, rows);
      const computed = (floorTo(end, MINUTE_MS) - start) / MINUTE_MS + 1;
      minutes += computed;
      this.metrics.minutes.inc(computed);
      this.options.onProgress?.({ site, through: end, newestTs });
      const open = floorTo(newestTs - graceMs, MINUTE_MS);
      if (end < newestTs) {
        // The next chunk starts at `end` and rewrites its minute (it held only samples at `end`).
        carry = carryBefore(carry, samples, end);
        await this.store.setRollupCursor(site, Math.min(end, Math.max(open, start)));
        start = end;
        continue;
      }
      const cursor = Math.max(start, open);
      carry = carryBefore(carry, samples, cursor);
      await this.store.setRollupCursor(site, cursor);
      this.held.set(site, { cursor, carry });
      this.reportLag(site, cursor);
      return minutes;
    }
  }

  /** Each role point's last good sample in the `lookbackMs` before `start`. */
  private async carryAt(plan: SitePlan, start: number): Promise<Map<string, ScalarSample>> {
    const carry = new Map<string, ScalarSample>();
    if (plan.pointIds.length === 0) return carry;
    const before = await this.store.scalarSamplesOf(
      plan.pointIds,
      start - this.config.rollups.lookbackMs,
      start - 1,
      this.options.maxSamples,
    );
    for (const [pointId, series] of before) {
      const last = series.ts.length - 1;
      carry.set(pointId, {
        ts: series.ts[last] as number,
        value: series.value[last] as ScalarSample['value'],
      });
    }
    return carry;
  }

  private pruneHorizon(): number {
    return floorTo(this.now() - this.config.rollups.minuteRetentionDays * DAY_MS, HOUR_MS);
  }

  /** Once an hour: minute rows past the retention go (whole hours; hour rows stay). */
  private async prune(): Promise<void> {
    const horizon = this.pruneHorizon();
    if (horizon <= this.prunedBefore) return;
    await this.store.pruneMinuteRollups(horizon);
    this.prunedBefore = horizon;
  }

  private reportLag(site: string, cursor: number | null): void {
    if (cursor !== null) this.metrics.lag.set({ site }, (this.now() - cursor) / 1000);
  }
}
