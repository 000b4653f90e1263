/**
 * The benchmark's OPC UA server, run as a separate process: N Double variables under Objects/bench, each
 * changed every second with a source timestamp of the moment of the change. Prints "ready <endpoint>".
 * Variable i holds tick × N + i at its tick-th change (i before the first), so a client can check every
 * value from the variable's index, and see a change skipped or delivered twice from the tick.
 * On SIGTERM it prints how many changes a late timer made twice in one turn (see `changedTwice`).
 * Usage: node dist/bench/opcua-server.js PORT COUNT PKI_DIR
 */
import { join } from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  RegisterServerMethod,
  SecurityPolicy,
  StatusCodes,
  type UAVariable,
} from 'node-opcua';

const [port = '0', count = '10000', pkiDir = '/tmp/jjj-bench-opcua'] = process.argv.slice(2);
const server = new OPCUAServer({
  port: Number(port),
  hostname: '127.0.0.1',
  serverCertificateManager: new OPCUACertificateManager({ rootFolder: join(pkiDir, 'server') }),
  userCertificateManager: new OPCUACertificateManager({ rootFolder: join(pkiDir, 'user') }),
  securityModes: [MessageSecurityMode.None],
  securityPolicies: [SecurityPolicy.None],
  allowAnonymous: true,
  registerServerMethod: RegisterServerMethod.HIDDEN,
});
await server.initialize();
const addressSpace = server.engine.addressSpace;
if (!addressSpace) throw new Error('no address space');
const namespace = addressSpace.getOwnNamespace();
const folder = namespace.addFolder(addressSpace.rootFolder.objects, { browseName: 'bench' });
const variables: UAVariable[] = [];
for (let i = 0; i < Number(count); i++) {
  variables.push(
    namespace.addVariable({
      organizedBy: folder,
      browseName: `v${i}`,
      nodeId: `s=v${i}`,
      dataType: DataType.Double,
      minimumSamplingInterval: 0,
      value: { dataType: DataType.Double, value: i },
    }),
  );
}
/**
 * Every variable changes once a second, the 10,000 spread evenly over the second (one slice every
 * 10 ms): a change then falls at every point of the client's publishing cycle in every run, so the
 * latency distribution does not depend on how the server's change timer and publishing timer happen
 * to line up in one run.
 */
const SLICES = 100;
const SLICE_MS = 1000 / SLICES;
const startedAt = Date.now();
let slicesDone = 0;
/**
 * Changes made to a variable changed already in the same catch-up (the timer ran a second or more
 * late): the server may send only the last of them, which a client then sees as a missed change.
 */
let changedTwice = 0;
/** Catches up on the slices due by the clock, so a late timer does not slow the rate of change down. */
const changeDueSlices = () => {
  const due = Math.floor((Date.now() - startedAt) / SLICE_MS);
  changedTwice += Math.max(0, due - slicesDone - SLICES) * (variables.length / SLICES);
  for (; slicesDone < due; slicesDone++) {
    const slice = slicesDone % SLICES;
    const tick = Math.floor(slicesDone / SLICES) + 1;
    const now = new Date();
    for (let i = slice; i < variables.length; i += SLICES) {
      const value = tick * variables.length + i;
      variables[i]?.setValueFromSource({ dataType: DataType.Double, value }, StatusCodes.Good, now);
    }
  }
};
const changeTimer = setInterval(changeDueSlices, SLICE_MS);
await server.start();
process.stdout.write(`ready opc.tcp://127.0.0.1:${port}\n`);
process.on('SIGTERM', () => {
  clearInterval(changeTimer);
  process.stdout.write(`changed twice in one catch-up ${Math.round(changedTwice)}\n`);
  void server.shutdown(0).then(() => process.exit(0));
});
