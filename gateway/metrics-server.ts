/** Serves the gateway's Prometheus metrics (its own and its adapters') on `GET /metrics`. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Registry, register } from 'prom-client';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function serveMetrics(
  gatewayRegistry: Registry,
  options: { host: string; port: number },
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    // Adapters record into prom-client's default registry, the gateway into its own (with its
    // `gateway` label, which a merged registry would drop): their metric names do not overlap.
    Promise.all([gatewayRegistry.metrics(), register.metrics()]).then(
      (texts) => response.writeHead(200, { 'content-type': register.contentType }).end(texts.join('\n')),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
