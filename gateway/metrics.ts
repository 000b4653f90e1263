/** The gateway's Prometheus metrics, in a registry of its own (the demo runs several gateways in one process). */
import { Counter, Gauge, Registry } from 'prom-client';

export function createGatewayMetrics(gateway: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ gateway });
  const registers = [registry];
  return {
    registry,
    brokerConnected: new Gauge({
      name: 'jjj_gateway_broker_connected',
      help: '1 while connected to the MQTT broker',
      registers,
    }),
    outboxBatches: new Gauge({
      name: 'jjj_gateway_outbox_batches',
      help: 'batches in the outbox',
      registers,
    }),
    outboxPoints: new Gauge({ name: 'jjj_gateway_outbox_points', help: 'readings in the outbox', registers }),
    outboxBytes: new Gauge({
      name: 'jjj_gateway_outbox_bytes',
      help: 'encoded size of the batches in the outbox',
      registers,
    }),
    pointsDropped: new Counter({
      name: 'jjj_gateway_points_dropped_total',
      help: 'readings dropped because the outbox was full (oldest first)',
      registers,
    }),
    batchesDelivered: new Counter({
      name: 'jjj_gateway_batches_delivered_total',
      help: 'batches acknowledged by the broker',
      labelNames: ['stream'] as const,
      registers,
    }),
    deviceConnected: new Gauge({
      name: 'jjj_gateway_device_connected',
      help: '1 while the device answers, 0 while it does not',
      labelNames: ['device', 'protocol'] as const,
      registers,
    }),
    pointsDelivered: new Counter({
      name: 'jjj_gateway_points_delivered_total',
      help: 'readings acknowledged by the broker',
      labelNames: ['stream'] as const,
      registers,
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
