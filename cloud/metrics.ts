/** The collector's Prometheus metrics, on a registry of its own so several collectors can share a process. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createCollectorMetrics() {
  const registry = new Registry();
  return {
    registry,
    messagesReceived: new Counter({
      name: 'jjj_collector_messages_received_total',
      help: 'MQTT messages received, by kind (telemetry, metadata, status, unknown)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    pointsStored: new Counter({
      name: 'jjj_collector_points_stored_total',
      help: 'Samples written to the store',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'jjj_collector_dead_letters_total',
      help: 'Messages set aside in the dead-letter store instead of ingested, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    outOfRangeSamples: new Counter({
      name: 'jjj_collector_out_of_range_samples_total',
      help: "Samples stored outside their point's declared min/max (kept, marked, quality uncertain)",
      registers: [registry],
    }),
    duplicateBatches: new Counter({
      name: 'jjj_collector_duplicate_batches_total',
      help: 'Telemetry batches dropped because their gateway, boot and seq were already stored',
      registers: [registry],
    }),
    sequenceGaps: new Counter({
      name: 'jjj_collector_sequence_gap_batches_total',
      help: 'Batches found missing from a gateway sequence when a later one arrived',
      registers: [registry],
    }),
    lateBatches: new Counter({
      name: 'jjj_collector_late_batches_total',
      help: 'Batches that arrived after a later one of their sequence, filling a gap counted before: gap batches minus these are still missing',
      registers: [registry],
    }),
    sparkplugRebirthRequests: new Counter({
      name: 'jjj_collector_sparkplug_rebirth_requests_total',
      help: 'Sparkplug rebirth requests (NCMD) sent, by reason (no-birth, gap)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    sparkplugRebirthsHeldBack: new Counter({
      name: 'jjj_collector_sparkplug_rebirth_requests_held_back_total',
      help: "Sparkplug rebirth requests not sent because the node's back-off was running, by reason",
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    sparkplugNoBirth: new Counter({
      name: 'jjj_collector_sparkplug_no_birth_messages_total',
      help: 'Sparkplug data (or DBIRTH) messages without the birth that declares them: nothing of them stored',
      registers: [registry],
    }),
    sparkplugUnmapped: new Counter({
      name: 'jjj_collector_sparkplug_unmapped_messages_total',
      help: 'Messages of Sparkplug nodes no sparkplug.nodes entry places, dropped after their NBIRTH was dead-lettered',
      registers: [registry],
    }),
    storeLatency: new Histogram({
      name: 'jjj_collector_store_write_seconds',
      help: 'Time to make one message durable in the store, retries excluded',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    storeFailures: new Counter({
      name: 'jjj_collector_store_write_failures_total',
      help: 'Store writes that failed and were retried',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'jjj_collector_queue_depth',
      help: 'Messages received and not yet acknowledged to the broker (at most one per MQTT connection)',
      registers: [registry],
    }),
    brokerConnected: new Gauge({
      name: 'jjj_collector_broker_connected',
      help: 'MQTT connections that are up',
      registers: [registry],
    }),
    sparkplugHostOnline: new Gauge({
      name: 'jjj_collector_sparkplug_host_online',
      help: 'Whether this instance has published its Sparkplug host STATE online (sparkplug.hostId) on a live connection',
      registers: [registry],
    }),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;
