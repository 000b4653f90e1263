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
  return shared(registry, configuration.name, () => new Counter({ ...configuration, registers: [registry] }));
}

export function sharedGauge<Label extends string>(
  registry: Registry,
  configuration: Omit<GaugeConfiguration<Label>, 'registers'>,
): Gauge<Label> {
  return shared(registry, configuration.name, () => new Gauge({ ...configuration, registers: [registry] }));
}

function shared<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
