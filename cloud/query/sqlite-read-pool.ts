/**
 * better-sqlite3 is synchronous: a long query on the collector's own connection blocks the event
 * loop, and with it `/health` and ingest. Heavy reads run here instead, in worker threads with their
 * own read-only connections to the same WAL file (readers never block the writer). Each query has a
 * time limit counted from its submission: a query still running then is answered as timed out and
 * its thread is terminated (a fresh one takes its place at once); a query still queued is dropped.
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
  deadline: number;
  /** Which `api.limits` key names the budget in a refusal. */
  budgetName: 'maxSamplesPerQuery' | 'maxRawSamplesPerQuery';
  timer: NodeJS.Timeout;
  resolve: (results: ReadResult[]) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker?: Worker;
  job?: Job;
}

interface WorkerAnswer {
  outcome?: ReadOutcome;
  error?: string;
}

/** The read thread: opens the file read-only and answers one task per message. */
function readThreadMain(run: typeof runReadTask): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const Database = require(workerData.driverPath);
  const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  const prepared = new Map();
  parentPort.on('message', (message: { task: ReadTask; deadline: number }) => {
    try {
      const outcome = run(db, prepared, message.task, message.deadline);
      const columns = outcome.status === 'done' && message.task.columns ? outcome.results.flat() : [];
      parentPort.postMessage(
        { outcome },
        columns.map((column) => (column as Float64Array).buffer),
      );
    } catch (error) {
      parentPort.postMessage({ error: (error as Error).message });
    }
  });
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
    // Threads start with the store, so a query's time limit is not spent starting one.
    this.slots = Array.from({ length: limits.readWorkers }, () => ({}));
    for (const slot of this.slots) slot.worker = this.spawn(slot);
  }

  /** The result of each statement; throws `QueryRefusedError` over the budget, the time limit or the queue. */
  run(task: ReadTask, budgetName: Job['budgetName']): Promise<ReadResult[]> {
    if (this.closed) return Promise.reject(new CollectorError('STORE_FAILED', 'the store is closed'));
    const free = this.slots.find((slot) => !slot.job);
    if (!free && this.queue.length >= this.limits.maxQueuedQueries)
      return Promise.reject(busy(this.queue.length));
    return new Promise((resolve, reject) => {
      const job: Job = {
        task,
        budgetName,
        deadline: Date.now() + this.limits.queryTimeoutMs,
        timer: setTimeout(() => this.expire(job), this.limits.queryTimeoutMs),
        resolve,
        reject,
      };
      if (free) this.start(free, job);
      else this.queue.push(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopped = new CollectorError('STORE_FAILED', 'the store closed during the query');
    for (const job of this.queue.splice(0)) this.settle(job, () => job.reject(stopped));
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.job) this.settle(slot.job, () => slot.job?.reject(stopped));
        const worker = slot.worker;
        slot.worker = undefined;
        slot.job = undefined;
        await worker?.terminate();
      }),
    );
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker ??= this.spawn(slot);
    slot.worker.postMessage({ task: job.task, deadline: job.deadline });
  }

  private spawn(slot: Slot): Worker {
    const worker = new Worker(readThreadSource, {
      eval: true,
      workerData: { path: this.path, driverPath: this.driverPath },
    });
    worker.on('message', (answer: WorkerAnswer) => {
      if (slot.worker !== worker) return;
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

  private answer(job: Job, { outcome, error }: WorkerAnswer): void {
    if (!outcome) job.reject(new CollectorError('STORE_FAILED', `SQLite read: ${error}`));
    else if (outcome.status === 'done') job.resolve(outcome.results);
    else if (outcome.status === 'over-budget')
      job.reject(tooManySamples(job.budgetName, job.task.maxTouched));
    else job.reject(timedOut(this.limits.queryTimeoutMs));
  }

  /** A job past its time limit: dropped from the queue, or its thread terminated. */
  private expire(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    const slot = this.slots.find((s) => s.job === job);
    job.reject(timedOut(this.limits.queryTimeoutMs));
    if (!slot) return;
    this.logger?.warn(
      { timeoutMs: this.limits.queryTimeoutMs },
      'SQLite read timed out; its thread is terminated',
    );
    const worker = slot.worker;
    slot.job = undefined;
    slot.worker = this.spawn(slot);
    void worker?.terminate();
    this.next(slot);
  }

  /** The thread of `slot` died on its own: its job fails, the next job starts a fresh thread. */
  private drop(slot: Slot, worker: Worker, error: CollectorError): void {
    if (slot.worker !== worker) return;
    // The next job starts a fresh thread: none is started here, so a thread that cannot open the file does not loop.
    slot.worker = undefined;
    const job = slot.job;
    slot.job = undefined;
    if (job) this.settle(job, () => job.reject(error));
    this.next(slot);
  }

  private next(slot: Slot): void {
    const job = this.queue.shift();
    if (job && !this.closed) this.start(slot, job);
  }

  private settle(job: Job, how: () => void): void {
    clearTimeout(job.timer);
    how();
  }
}
