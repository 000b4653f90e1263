/** The shared adapter contract (test/adapters/adapter-suite.ts), for OPC UA against a node-opcua server. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { OpcuaAdapter } from '../../../adapters/opcua/adapter.js';
import type { OpcuaDevice } from '../../../adapters/opcua/config.js';
import { opcuaAdapter } from '../../../adapters/opcua/index.js';
import { freePort } from '../../helpers/ports.js';
import { adapterContractSuite, type SuitePeer } from '../adapter-suite.js';
import { LIVE_VALUE, LIVE_VARIABLE, startTestServer, type TestServer } from './opcua-test-server.js';

interface OpcuaPeer extends SuitePeer {
  endpoint: string;
}

/** One folder for the servers' and the client's certificates, so each is made once for the file. */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opcua-contract-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startPeer(): Promise<OpcuaPeer> {
  const port = await freePort();
  let server: TestServer | undefined = await startTestServer(port, dir);
  return {
    endpoint: server.endpoint,
    connections: () => server?.sessionCount() ?? 0,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    restart: async () => {
      server = await startTestServer(port, dir);
    },
  };
}

function deviceAt(endpoint: string) {
  return {
    protocol: 'opcua',
    id: 'cnc-01',
    line: 'machining',
    endpoint,
    publishingIntervalMs: 50,
    points: [
      { name: 'served', nodeId: `ns=1;s=${LIVE_VARIABLE}` },
      { name: 'unserved', nodeId: 'ns=1;s=cnc-01.no-such-point' },
      { name: 'writable', nodeId: 'ns=1;s=cnc-01.good-count', writable: true },
    ],
  };
}

adapterContractSuite('OPC UA', {
  module: opcuaAdapter,
  startPeer,
  device: (peer) => deviceAt(peer.endpoint),
  unreachableDevice: async () => deviceAt(`opc.tcp://127.0.0.1:${await freePort()}`),
  servedValue: LIVE_VALUE,
  writeValue: 42,
  quietMs: 1000,
  create: (device, context) =>
    new OpcuaAdapter(device as OpcuaDevice, context, {
      pkiDir: join(dir, 'client'),
      reconnectDelayMs: { initial: 100, max: 300 },
      rebuildDelayMs: 300,
    }),
});
