/**
 * Prometheus figures of the OPC UA adapter, in the registry the gateway hands it. Whether a device is
 * connected is the gateway's `jjj_gateway_device_connected`, from the state the adapter reports.
 */
import type { Registry } from 'prom-client';
import { sharedCounter } from '../common/metrics.js';

const labelNames = ['device', 'endpoint'] as const;

export function opcuaMetrics(registry: Registry) {
  return {
    outages: sharedCounter(registry, {
      name: 'jjj_opcua_device_outages_total',
      help: 'times the OPC UA device went from connected to disconnected',
      labelNames,
    }),
    readings: sharedCounter(registry, {
      name: 'jjj_opcua_readings_total',
      help: 'readings handed to the gateway (notifications or polled values)',
      labelNames,
    }),
  };
}

export type OpcuaMetrics = ReturnType<typeof opcuaMetrics>;
