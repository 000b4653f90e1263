/** Serves the gateway's Prometheus metrics (its own and its adapters') on `GET /metrics`. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { Counter, Gauge, Registry, register } from 'prom-client';
import { heapKeptBytes, isFullGc } from './v8-heap.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The V8 heap still in use right after each full (mark-compact) GC: what the process really keeps
 * alive, which heapUsed or RSS do not say (they include garbage not yet collected). A leak shows as
 * this figure climbing from one full GC to the next; warm-up as it levelling off.
 */
function watchHeapAfterGc(registry: Registry): () => void {
  const heapAfterGc = new Gauge({
    name: 'jjj_gateway_heap_after_gc_bytes',
    help: 'V8 heap in use (old generation, code and large objects; not the young generation) after the last full GC',
    registers: [registry],
  });
  const fullGcs = new Counter({
    name: 'jjj_gateway_full_gcs_total',
    help: 'full (mark-compact) garbage collections',
    registers: [registry],
  });
  const observer = new PerformanceObserver((list) => {
    if (!list.getEntries().some(isFullGc)) return;
    heapAfterGc.set(heapKeptBytes());
    fullGcs.inc();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

export async function serveMetrics(
  gatewayRegistry: Registry,
  options: { host: string; port: number },
): Promise<MetricsServer> {
  // Figures of the process (one per process, though the demo runs several gateways in one).
  const processRegistry = new Registry();
  const stopWatching = watchHeapAfterGc(processRegistry);
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    // Adapters record into prom-client's default registry, the gateway into its own (with its
    // `gateway` label, which a merged registry would drop): their metric names do not overlap.
    Promise.all([gatewayRegistry.metrics(), register.metrics(), processRegistry.metrics()]).then(
      (texts) => response.writeHead(200, { 'content-type': register.contentType }).end(texts.join('\n')),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolveListen());
    });
  } catch (error) {
    stopWatching();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((done) => {
        stopWatching();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
