/**
 * better-sqlite3 is synchronous: a long query on the collector's own connection blocks the event
 * loop, and with it `/health` and ingest. Heavy reads run here instead, in worker threads with their
 * own read-only connections to the same WAL file (readers never block the writer). A query waits
 * for a free thread at most `queryTimeoutMs` (and at most `maxQueuedQueries` wait), then runs at
 * most `queryTimeoutMs`: past it the query is answered as timed out and its thread is terminated
 * (a fresh one takes its place at once; a thread's start is not counted against any query).
 *
 * The worker's code is `runReadTask` plus a small message loop, handed to the thread as source
 * text, so the same file runs from `dist/` and under the test runner.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { CollectorError } from '../errors.js';
import { busy, type QueryLimits, timedOut, tooManySamples } from './query-errors.js';
import { type ReadOutcome, type ReadResult, type ReadTask, runReadTask } from './read-task.js';

type PoolLimits = Pick<QueryLimits, 'readWorkers' | 'queryTimeoutMs' | 'maxQueuedQueries'>;

interface Job {
  task: ReadTask;
  /** Which `api.limits` key names the budget in a refusal. */
  budgetName: 'maxSamplesPerQuery' | 'maxRawSamplesPerQuery';
  /** While queued: how long it may wait for a thread; while running: its time limit. */
  timer: NodeJS.Timeout;
  resolve: (results: ReadResult[]) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker?: Worker;
  /** The thread has opened the file and takes jobs. */
  ready: boolean;
  job?: Job;
}

type WorkerAnswer = { ready: true } | { outcome: ReadOutcome } | { error: string };

/** The read thread: opens the file read-only, says so, and answers one task per message. */
function readThreadMain(run: typeof runReadTask): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const Database = require(workerData.driverPath);
  const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  const prepared = new Map();
  parentPort.on('message', (message: { task: ReadTask; deadline: number }) => {
    try {
      const outcome = run(db, prepared, message.task, message.deadline);
      // The numeric columns of a `columns` task are moved, not copied.
      const columns = outcome.status === 'done' && message.task.columns ? outcome.results.flat() : [];
      parentPort.postMessage(
        { outcome },
        columns.flatMap((values) => (values instanceof Float64Array ? [values.buffer] : [])),
      );
    } catch (error) {
      parentPort.postMessage({ error: (error as Error).message });
    }
  });
  parentPort.postMessage({ ready: true });
}

const readThreadSource = `(${readThreadMain.toString()})(${runReadTask.toString()});`;

export class SqliteReadPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private readonly driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly limits: PoolLimits,
    private readonly logger?: Logger,
  ) {
    this.slots = Array.from({ length: limits.readWorkers }, () => ({ ready: false }));
    for (const slot of this.slots) slot.worker = this.spawn(slot);
  }

  /** The result of each statement; throws `QueryRefusedError` over the budget, the time limit or the queue. */
  run(task: ReadTask, budgetName: Job['budgetName']): Promise<ReadResult[]> {
    if (this.closed) return Promise.reject(new CollectorError('STORE_FAILED', 'the store is closed'));
    if (this.queue.length >= this.limits.maxQueuedQueries && !this.freeSlot())
      return Promise.reject(busy(this.queue.length));
    return new Promise((resolve, reject) => {
      const job: Job = {
        task,
        budgetName,
        timer: setTimeout(() => this.expire(job), this.limits.queryTimeoutMs),
        resolve,
        reject,
      };
      this.queue.push(job);
      // A thread that died is replaced when a query needs it, so one that cannot open the file does not loop.
      for (const slot of this.slots) slot.worker ??= this.spawn(slot);
      const free = this.freeSlot();
      if (free) this.next(free);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopped = new CollectorError('STORE_FAILED', 'the store closed during the query');
    const jobs = [...this.queue.splice(0), ...this.slots.flatMap((slot) => (slot.job ? [slot.job] : []))];
    for (const job of jobs) this.settle(job, () => job.reject(stopped));
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = undefined;
        slot.job = undefined;
        await worker?.terminate();
      }),
    );
  }

  private freeSlot(): Slot | undefined {
    return this.slots.find((slot) => slot.ready && !slot.job);
  }

  private spawn(slot: Slot): Worker {
    slot.ready = false;
    const worker = new Worker(readThreadSource, {
      eval: true,
      workerData: { path: this.path, driverPath: this.driverPath },
    });
    worker.on('message', (answer: WorkerAnswer) => {
      if (slot.worker !== worker) return;
      if ('ready' in answer) slot.ready = true;
      const job = slot.job;
      slot.job = undefined;
      if (job) this.settle(job, () => this.answer(job, answer));
      this.next(slot);
    });
    worker.on('error', (error) => {
      this.logger?.error({ err: error }, 'SQLite read thread failed');
      this.drop(slot, worker, new CollectorError('STORE_FAILED', `read thread failed: ${error.message}`));
    });
    worker.on('exit', () => {
      this.drop(slot, worker, new CollectorError('STORE_FAILED', 'read thread exited'));
    });
    return worker;
  }

  /** Hands the oldest queued job to `slot`'s thread, whose time limit starts now. */
  private next(slot: Slot): void {
    if (this.closed || !slot.ready || slot.job) return;
    const job = this.queue.shift();
    if (!job || !slot.worker) return;
    slot.job = job;
    clearTimeout(job.timer);
    job.timer = setTimeout(() => this.expire(job), this.limits.queryTimeoutMs);
    slot.worker.postMessage({ task: job.task, deadline: Date.now() + this.limits.queryTimeoutMs });
  }

  private answer(job: Job, answer: WorkerAnswer): void {
    if ('error' in answer) job.reject(new CollectorError('STORE_FAILED', `SQLite read: ${answer.error}`));
    else if (!('outcome' in answer)) return;
    else if (answer.outcome.status === 'done') job.resolve(answer.outcome.results);
    else if (answer.outcome.status === 'over-budget')
      job.reject(tooManySamples(job.budgetName, job.task.maxTouched));
    else job.reject(timedOut(this.limits.queryTimeoutMs));
  }

  /** A job past its time limit: dropped from the queue, or its thread terminated and replaced. */
  private expire(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    job.reject(timedOut(this.limits.queryTimeoutMs));
    const slot = this.slots.find((s) => s.job === job);
    if (!slot) return;
    this.logger?.warn(
      { timeoutMs: this.limits.queryTimeoutMs },
      'SQLite read timed out; its thread is terminated',
    );
    const worker = slot.worker;
    slot.job = undefined;
    slot.worker = this.spawn(slot);
    void worker?.terminate();
  }

  /** The thread of `slot` died on its own: its job fails; the next query starts a fresh one. */
  private drop(slot: Slot, worker: Worker, error: CollectorError): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const job = slot.job;
    slot.job = undefined;
    if (job) this.settle(job, () => job.reject(error));
  }

  private settle(job: Job, how: () => void): void {
    clearTimeout(job.timer);
    how();
  }
}
