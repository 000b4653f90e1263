/** A real Modbus TCP device for tests: modbus-serial's ServerTCP on loopback, answering from `vector`. */
import { ServerTCP } from 'modbus-serial';

export type ModbusVector = ConstructorParameters<typeof ServerTCP>[0];

export interface ModbusTestServer {
  server: ServerTCP;
  close(): Promise<void>;
}

export async function startModbusServer(port: number, vector: ModbusVector): Promise<ModbusTestServer> {
  const server = new ServerTCP(vector, { host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', reject);
  });
  // A client that disappears mid-answer is part of these tests, not a failure.
  server.on('socketError', () => {});
  server.on('error', () => {});
  return { server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
