import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../gateway/metrics-server.js';
import { waitUntil } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the heap after GC on /metrics', () => {
  it('gives the live heap after each full GC, with no V8 flag', async () => {
    const server = await serveMetrics(new Registry(), { host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    const figures = async () => {
      const text = await (await fetch(server.url)).text();
      const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
      return { heap: value('jjj_gateway_heap_after_gc_bytes'), fullGcs: value('jjj_gateway_full_gcs_total') };
    };
    collectGarbage();
    await waitUntil('the full GC observed', async () => (await figures()).fullGcs >= 1);
    const afterGc = (await figures()).heap;
    // Kept alive across the next full GC: 20 MB more live heap shows in the figure.
    const kept = Array.from({ length: 20 }, () => new Array(128 * 1024).fill(1.5));
    collectGarbage();
    await waitUntil('the second full GC observed', async () => (await figures()).fullGcs >= 2);
    expect((await figures()).heap - afterGc).toBeGreaterThan(18 * 2 ** 20);
    expect(kept).toHaveLength(20);
  });
});
