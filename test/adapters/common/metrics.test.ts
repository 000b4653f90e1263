/** Adapter metrics live in the registry handed in, one metric per name shared by every device. */
import { Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sharedCounter } from '../../../adapters/common/metrics.js';

describe('sharedCounter', () => {
  it('create a metric in the given registry once; later devices get the same one', async () => {
    const registry = new Registry();
    const config = { name: 'jjj_test_readings_total', help: 'readings', labelNames: ['device'] as const };
    const first = sharedCounter(registry, config);
    expect(sharedCounter(registry, config)).toBe(first);
    first.inc({ device: 'a' }, 2);
    sharedCounter(registry, config).inc({ device: 'b' });
    const text = await registry.metrics();
    expect(text).toContain('jjj_test_readings_total{device="a"} 2');
    expect(text).toContain('jjj_test_readings_total{device="b"} 1');
    expect(register.getSingleMetric('jjj_test_readings_total')).toBeUndefined();
    // Another gateway in the same process has its own.
    expect(sharedCounter(new Registry(), config)).not.toBe(first);
  });
});
