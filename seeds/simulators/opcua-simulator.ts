/**
 * One OPC UA server per site: Objects/<line>/<equipment>/<point>, node ids `ns=1;s=<equipment>.<point>`
 * in namespace `urn:jjj-iiot:sim:<site>`, values pushed from the site model with its time as source
 * timestamp. Security None with anonymous login: a simulator on loopback, not a production server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  type UAVariable,
} from 'node-opcua';
import { opcuaEquipmentOf, type Site } from '../catalogue.js';
import { type OpcuaDataType, opcuaPointsOf, simulatorNamespaceUri } from '../device-maps.js';
import type { SiteModel } from '../signals.js';

export interface OpcuaSimulatorOptions {
  port: number;
  /** Address to listen on; default 127.0.0.1 (node-opcua alone would listen on every interface). */
  host?: string;
  model: SiteModel;
  /** Where the server keeps its PKI (certificate made at first start); default a temporary folder removed on stop. */
  pkiDir?: string;
}

export interface OpcuaSimulator {
  endpoint: string;
  namespaceUri: string;
  stop(): Promise<void>;
}

const dataTypes: Record<OpcuaDataType, DataType> = {
  UInt16: DataType.UInt16,
  UInt32: DataType.UInt32,
  Double: DataType.Double,
};

interface BoundVariable {
  variable: UAVariable;
  equipment: string;
  point: string;
  dataType: DataType;
}

export async function startOpcuaSimulator(
  site: Site,
  options: OpcuaSimulatorOptions,
): Promise<OpcuaSimulator> {
  const { model } = options;
  const host = options.host ?? '127.0.0.1';
  // On a wildcard address the endpoints name this machine, as node-opcua does by default.
  const advertised = host === '0.0.0.0' || host === '::' ? hostname() : host;
  const endpoint = `opc.tcp://${advertised.includes(':') ? `[${advertised}]` : advertised}:${options.port}`;
  const temporaryPki = options.pkiDir === undefined;
  const pkiDir = options.pkiDir ?? (await mkdtemp(join(tmpdir(), `jjj-opcua-sim-${site.id}-`)));
  const namespaceUri = simulatorNamespaceUri(site);
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: join(pkiDir, 'server'),
    automaticallyAcceptUnknownCertificate: true,
  });
  const userCertificateManager = new OPCUACertificateManager({
    rootFolder: join(pkiDir, 'user'),
    automaticallyAcceptUnknownCertificate: true,
  });
  const server = new OPCUAServer({
    port: options.port,
    host,
    hostname: advertised,
    serverCertificateManager,
    userCertificateManager,
    // The server's own namespace (index 1) takes the application URI, which makes node ids `ns=1;s=…`.
    serverInfo: {
      applicationUri: namespaceUri,
      productUri: 'urn:jjj-iiot:simulator',
      applicationName: { text: `jjj-iiot simulator ${site.id}` },
    },
    buildInfo: { productName: 'jjj-iiot site simulator', manufacturerName: 'jjj-iiot' },
    securityModes: [MessageSecurityMode.None],
    securityPolicies: [SecurityPolicy.None],
    allowAnonymous: true,
  });

  const cleanUp = async () => {
    if (temporaryPki) await rm(pkiDir, { recursive: true, force: true });
  };
  let unsubscribe = () => {};
  try {
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error('OPC UA server has no address space after initialize()');
    const namespace = addressSpace.getOwnNamespace();
    const bound: BoundVariable[] = [];
    const lineFolders = new Map<string, ReturnType<typeof namespace.addFolder>>();
    for (const equipment of opcuaEquipmentOf(site)) {
      let lineFolder = lineFolders.get(equipment.line);
      if (!lineFolder) {
        lineFolder = namespace.addFolder(addressSpace.rootFolder.objects, { browseName: equipment.line });
        lineFolders.set(equipment.line, lineFolder);
      }
      const equipmentFolder = namespace.addFolder(lineFolder, {
        browseName: equipment.id,
        description: equipment.name.en,
      });
      for (const point of opcuaPointsOf(equipment.kind)) {
        const dataType = dataTypes[point.dataType];
        const variable = namespace.addVariable({
          organizedBy: equipmentFolder,
          browseName: point.name,
          nodeId: `s=${equipment.id}.${point.name}`,
          description: point.description,
          dataType,
          minimumSamplingInterval: 100,
        });
        bound.push({ variable, equipment: equipment.id, point: point.name, dataType });
      }
    }
    const publish = () => {
      const sourceTimestamp = new Date(model.timeMs);
      const valuesByEquipment = new Map<string, Record<string, number>>();
      for (const { variable, equipment, point, dataType } of bound) {
        let values = valuesByEquipment.get(equipment);
        if (!values) {
          values = model.equipmentValues(equipment) ?? {};
          valuesByEquipment.set(equipment, values);
        }
        const value = values[point];
        if (value === undefined) variable.setValueFromSource({ dataType, value: 0 }, StatusCodes.BadNoData);
        else variable.setValueFromSource({ dataType, value }, StatusCodes.Good, sourceTimestamp);
      }
    };
    publish();
    unsubscribe = model.onAdvance(publish);
    await server.start();
  } catch (error) {
    unsubscribe();
    // The start failure is what the caller needs; a shutdown failure on top of it would hide it.
    await server.shutdown(0).catch(() => undefined);
    await cleanUp();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    namespaceUri,
    stop() {
      stopped ??= (async () => {
        unsubscribe();
        await server.shutdown(0);
        await serverCertificateManager.dispose();
        await cleanUp();
      })();
      return stopped;
    },
  };
}
