/** The collector's Prometheus metrics, on a registry of its own so several collectors can share a process. */
import { Counter, Gauge, Registry } from 'prom-client';

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
    rejected: new Counter({
      name: 'jjj_collector_messages_rejected_total',
      help: 'Messages set aside instead of ingested, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    duplicateBatches: new Counter({
      name: 'jjj_collector_duplicate_batches_total',
      help: 'Telemetry batches dropped because their gateway, boot and seq were already stored',
      registers: [registry],
    }),
    brokerConnected: new Gauge({
      name: 'jjj_collector_broker_connected',
      help: '1 while the MQTT connection is up',
      registers: [registry],
    }),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;
