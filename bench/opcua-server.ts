/**
 * The benchmark's OPC UA server, run as a separate process: N Double variables under Objects/bench, all
 * changed every second with a source timestamp of the moment of the change. Prints "ready <endpoint>".
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
    }),
  );
}
let tick = 0;
const change = () => {
  tick++;
  const now = new Date();
  for (const variable of variables) {
    variable.setValueFromSource({ dataType: DataType.Double, value: tick }, StatusCodes.Good, now);
  }
};
change();
// Aligned to whole seconds so each change is one burst of N values.
setTimeout(() => setInterval(change, 1000), 1000 - (Date.now() % 1000));
await server.start();
process.stdout.write(`ready opc.tcp://127.0.0.1:${port}\n`);
process.on('SIGTERM', () => {
  void server.shutdown(0).then(() => process.exit(0));
});
