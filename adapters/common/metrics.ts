/**
 * Adapter metrics in the registry the gateway hands each adapter (`AdapterContext.metrics`), never in
 * prom-client's global one. Every device of a protocol shares one metric, told apart by labels: the
 * first device creates it, the others find it.
 */
import { Counter, type CounterConfiguration, type Registry } from 'prom-client';

export function sharedCounter<Label extends string>(
  registry: Registry,
  configuration: Omit<CounterConfiguration<Label>, 'registers'>,
): Counter<Label> {
  return (
    (registry.getSingleMetric(configuration.name) as Counter<Label> | undefined) ??
    new Counter({ ...configuration, registers: [registry] })
  );
}
