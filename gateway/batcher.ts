/**
 * Batching: samples wait here until the next publish tick, then leave as numbered batches (gateway
 * id, boot counter, per-boot sequence) of at most `publish.maxPoints` points each.
 */
import type { LoadedGatewayConfig } from './config.js';
import { type PointSample, TELEMETRY_SCHEMA, type TelemetryBatch } from './schema/index.js';

export interface BatcherOptions {
  config: Pick<LoadedGatewayConfig, 'gateway' | 'publish'>;
  boot: number;
  /** Takes each batch as it is made (into the outbox, for delivery). */
  submit: (batch: TelemetryBatch) => void;
}

export class Batcher {
  private pending: PointSample[] = [];
  private nextSeq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatcherOptions) {}

  /** The sequence number the next batch gets: how many batches this boot has made. */
  get seq(): number {
    return this.nextSeq;
  }

  add(sample: PointSample): void {
    this.pending.push(sample);
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), this.options.config.publish.intervalMs);
  }

  /** Stops the ticks; what is pending leaves in a last batch. */
  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private flush(): void {
    const { config, boot, submit } = this.options;
    const { gateway, publish } = config;
    while (this.pending.length > 0) {
      const points = this.pending.splice(0, publish.maxPoints);
      submit({
        schema: TELEMETRY_SCHEMA,
        region: gateway.region,
        project: gateway.project,
        site: gateway.site,
        gateway: { id: gateway.id, boot, seq: this.nextSeq++ },
        sentTs: Date.now(),
        points,
      });
    }
  }
}
