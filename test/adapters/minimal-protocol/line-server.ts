/**
 * A device speaking the text-line protocol, on loopback: the real peer of the minimal adapter. One
 * request per line, answered in order: `READ <register>` → `VALUE <number>`, `WRITE <register>
 * <number>` → `OK`, and `ERROR <reason>` for a register it does not have or a line it cannot parse.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../../helpers/ports.js';

export interface TextLineDevice {
  port: number;
  /** The device's registers; tests change them while it runs. */
  registers: Map<string, number>;
  connections(): number;
  /** Closes the listener and every connection, as a device switched off. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function startTextLineDevice(registers: Map<string, number>): Promise<TextLineDevice> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const answer = (line: string): string => {
    const [verb, register = '', value, ...rest] = line.trim().split(/\s+/);
    if (verb === 'READ' && value === undefined) {
      const current = registers.get(register);
      return current === undefined ? `ERROR NoSuchRegister ${register}` : `VALUE ${current}`;
    }
    if (verb === 'WRITE' && value !== undefined && rest.length === 0 && Number.isFinite(Number(value))) {
      if (!registers.has(register)) return `ERROR NoSuchRegister ${register}`;
      registers.set(register, Number(value));
      return 'OK';
    }
    return 'ERROR BadRequest';
  };

  const listen = async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
          socket.write(`${answer(buffered.slice(0, end))}\n`);
          buffered = buffered.slice(end + 1);
        }
      });
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', resolve);
    });
  };

  await listen();
  return {
    port,
    registers,
    connections: () => sockets.size,
    stop: async () => {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (closing) await new Promise((resolve) => closing.close(resolve));
    },
    restart: listen,
  };
}
