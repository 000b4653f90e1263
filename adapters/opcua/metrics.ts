/** Prometheus figures of the OPC UA adapter, in prom-client's default registry. */
import { Counter, Gauge, register } from 'prom-client';

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const connectedGauge = once(
  'jjj_opcua_device_connected',
  () =>
    new Gauge({
      name: 'jjj_opcua_device_connected',
      help: '1 while the OPC UA device has a live session (and subscription), 0 during an outage',
      labelNames: ['device', 'endpoint'],
    }),
);

export const outagesCounter = once(
  'jjj_opcua_device_outages_total',
  () =>
    new Counter({
      name: 'jjj_opcua_device_outages_total',
      help: 'times the OPC UA device went from connected to disconnected',
      labelNames: ['device', 'endpoint'],
    }),
);

export const readingsCounter = once(
  'jjj_opcua_readings_total',
  () =>
    new Counter({
      name: 'jjj_opcua_readings_total',
      help: 'readings handed to the gateway (notifications or polled values)',
      labelNames: ['device', 'endpoint'],
    }),
);
