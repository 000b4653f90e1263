/**
 * Adapter metrics in the registry the gateway hands each adapter (`AdapterContext.metrics`), never in
 * prom-client's global one. Every device of a protocol shares one metric, told apart by labels: the
 * first device creates it, the others find it.
 */
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  type Registry,
} from 'prom-client';

export function sharedCounter<Label extends string>(
  registry: Registry,
  configuration: Omit<CounterConfiguration<Label>, 'registers'>,
): Counter<Label> {
  const existing = registry.getSingleMetric(configuration.name);
  return (existing as Counter<Label> | undefined) ?? new Counter({ ...configuration, registers: [registry] });
}

export function sharedGauge<Label extends string>(
  registry: Registry,
  configuration: Omit<GaugeConfiguration<Label>, 'registers'>,
): Gauge<Label> {
  const existing = registry.getSingleMetric(configuration.name);
  return (existing as Gauge<Label> | undefined) ?? new Gauge({ ...configuration, registers: [registry] });
}
