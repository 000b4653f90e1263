/**
 * A fault-injecting TCP proxy for tests, in place of a WAN link: forwards 127.0.0.1:port to a
 * target, and can cut every connection (and refuse new ones), pause traffic, or delay it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url(scheme?: string): string;
  /** Closes every connection and refuses new ones until `restore()`: the link is down. */
  cut(): void;
  restore(): void;
  /** Holds traffic both ways (connections stay open, nothing moves) until `resume()`. */
  pause(): void;
  resume(): void;
  /** Adds `ms` of latency to every chunk both ways (0 for none). */
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let down = false;
  let paused = false;
  let latencyMs = 0;
  const timers = new Set<NodeJS.Timeout>();

  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      if (latencyMs === 0) {
        to.write(chunk);
        return;
      }
      // Order is kept: every chunk waits the same delay.
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!to.destroyed) to.write(chunk);
      }, latencyMs);
      timers.add(timer);
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };

  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    pipe(client, upstream);
    pipe(upstream, client);
    if (paused) for (const socket of pair) socket.pause();
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    url: (scheme = 'mqtt') => `${scheme}://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      pairs.clear();
    },
    restore() {
      down = false;
    },
    pause() {
      paused = true;
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    resume() {
      paused = false;
      for (const pair of pairs) for (const socket of pair) socket.resume();
    },
    delay(ms) {
      latencyMs = ms;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
