/**
 * `jjj-gateway discover opcua URL`: browses a server's address space and writes a ready-to-edit gateway
 * config with one point per variable found (node id, browse path, data type, unit from EUInformation,
 * range from EURange). Objects become equipment and their parent folders lines, as in the seed servers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttributeIds,
  BrowseDirection,
  type ClientSession,
  NodeClass,
  NodeClassMask,
  OPCUAClient,
  type ReferenceDescription,
  resolveNodeId,
} from 'node-opcua-client';
import { stringify } from 'yaml';
import { UneceUnit } from '../contract.js';
import type { OpcuaPoint } from './config.js';
import { dataTypeOf, uneceCodeOf } from './decode.js';

export interface DiscoverOptions {
  endpoint: string;
  /** Node to browse from; default the Objects folder. */
  root?: string;
  /** How many levels below the root to browse; default 6. */
  depth?: number;
}

export class DiscoveryError extends Error {
  readonly code = 'OPCUA_DISCOVERY_FAILED';
}

interface FoundVariable {
  nodeId: string;
  path: string[];
}

/** Browses the server and returns the gateway YAML text. */
export async function discover(options: DiscoverOptions): Promise<string> {
  const pkiDir = await mkdtemp(join(tmpdir(), 'jjj-discover-'));
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiDir });
  const client = OPCUAClient.create({
    applicationName: 'jjj-gateway-discover',
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    clientCertificateManager: certificateManager,
  });
  try {
    await client.connect(options.endpoint);
    const session = await client.createSession();
    try {
      const variables = await browseVariables(session, options.root ?? 'i=85', options.depth ?? 6);
      const points = await describe(session, variables);
      return render(options.endpoint, points);
    } finally {
      await session.close();
    }
  } catch (error) {
    if (error instanceof DiscoveryError) throw error;
    throw new DiscoveryError(`cannot browse ${options.endpoint}: ${(error as Error).message}`);
  } finally {
    await client.disconnect();
    await certificateManager.dispose();
    await rm(pkiDir, { recursive: true, force: true });
  }
}

/** Breadth-first over hierarchical references outside namespace 0; variables are collected, not descended into. */
async function browseVariables(
  session: ClientSession,
  root: string,
  depth: number,
): Promise<FoundVariable[]> {
  const found: FoundVariable[] = [];
  let level: FoundVariable[] = [{ nodeId: resolveNodeId(root).toString(), path: [] }];
  for (let d = 0; d < depth && level.length > 0; d++) {
    const results = await session.browse(
      level.map((node) => ({
        nodeId: node.nodeId,
        browseDirection: BrowseDirection.Forward,
        referenceTypeId: 'HierarchicalReferences',
        includeSubtypes: true,
        nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
        resultMask: 0x3f,
      })),
    );
    const next: FoundVariable[] = [];
    results.forEach((result, index) => {
      const parent = level[index];
      if (!parent) return;
      for (const reference of result.references ?? []) {
        // Namespace 0 holds the standard nodes (Server, Aliases…), not the equipment.
        if (reference.nodeId.namespace === 0) continue;
        const child = childOf(parent, reference);
        if (reference.nodeClass === NodeClass.Variable) found.push(child);
        else next.push(child);
      }
    });
    level = next;
  }
  return found;
}

function childOf(parent: FoundVariable, reference: ReferenceDescription): FoundVariable {
  return { nodeId: reference.nodeId.toString(), path: [...parent.path, reference.browseName.name ?? ''] };
}

interface DiscoveredPoint extends OpcuaPoint {
  line: string;
  equipment: string;
}

/** Reads each variable's data type, description, and its EngineeringUnits and EURange properties. */
async function describe(session: ClientSession, variables: FoundVariable[]): Promise<DiscoveredPoint[]> {
  const points: DiscoveredPoint[] = [];
  const taken = new Set<string>();
  for (const variable of variables) {
    const nodeId = resolveNodeId(variable.nodeId);
    const [description] = await session.read([{ nodeId, attributeId: AttributeIds.Description }]);
    const dataType = dataTypeOf(await session.getBuiltInDataType(nodeId).catch(() => 0));
    const properties = await session.translateBrowsePath(
      ['EngineeringUnits', 'EURange'].map((name) => ({
        startingNode: nodeId,
        relativePath: {
          elements: [
            {
              targetName: { namespaceIndex: 0, name },
              includeSubtypes: true,
              isInverse: false,
              referenceTypeId: resolveNodeId('i=46'),
            },
          ],
        },
      })),
    );
    const propertyIds = properties.map((result) => result.targets?.[0]?.targetId);
    const [units, range] = await Promise.all(
      propertyIds.map(async (id) =>
        id
          ? (await session.read({ nodeId: resolveNodeId(id.toString()), attributeId: AttributeIds.Value }))
              .value.value
          : undefined,
      ),
    );
    const names = variable.path.map(identifierOf);
    const equipment = names.at(-2) ?? 'device';
    const line = names.at(-3) ?? 'line-1';
    const base = names.at(-1) ?? 'point';
    let name = base;
    for (let n = 2; taken.has(`${equipment}/${name}`); n++) name = `${base}-${n}`;
    taken.add(`${equipment}/${name}`);
    const unit = UneceUnit.safeParse(uneceCodeOf((units as { unitId?: number } | undefined)?.unitId ?? -1));
    const low = (range as { low?: number } | undefined)?.low;
    const high = (range as { high?: number } | undefined)?.high;
    const text = (description?.value.value as { text?: string } | null)?.text;
    points.push({
      name,
      line,
      equipment,
      nodeId: variable.nodeId,
      browsePath: `/${variable.path.join('/')}`,
      ...(dataType && { dataType }),
      ...(unit.success && { unit: unit.data }),
      ...(Number.isFinite(low) && { min: low }),
      ...(Number.isFinite(high) && { max: high }),
      ...(text && { description: text }),
    });
  }
  return points;
}

/** A browse name as a config identifier: lower-case, runs of other characters as "-". */
function identifierOf(browseName: string): string {
  const id = browseName
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 64);
  return id || 'node';
}

/** One device per equipment (points are named uniquely per device), all on the same endpoint. */
function render(endpoint: string, points: DiscoveredPoint[]): string {
  const devices = new Map<string, { line: string; points: OpcuaPoint[] }>();
  for (const { line, equipment, ...point } of points) {
    const device = devices.get(equipment) ?? { line, points: [] };
    device.points.push(point);
    devices.set(equipment, device);
  }
  const config = {
    gateway: {
      id: 'gw-discovered',
      region: 'BJ',
      project: 'jjj-dp-01',
      site: 'site-1',
      siteName: { zh: '待填写', en: 'to be filled in' },
    },
    mqtt: { url: 'mqtt://127.0.0.1:1883' },
    devices: [...devices].map(([id, device]) => ({
      protocol: 'opcua',
      id,
      line: device.line,
      endpoint,
      publishingIntervalMs: 1000,
      samplingIntervalMs: 500,
      points: device.points,
    })),
  };
  return [
    `# Discovered by \`jjj-gateway discover opcua ${endpoint}\` on ${new Date().toISOString()}:`,
    `# ${points.length} variables. Edit the gateway identity, the device ids and lines, drop the points`,
    '# you do not need, then check it with `jjj-gateway validate --config FILE` and `jjj-gateway test`.',
    stringify(config, { lineWidth: 0 }),
  ].join('\n');
}
