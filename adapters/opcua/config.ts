/** The config schema of one OPC UA device entry in a gateway YAML file. */
import { z } from 'zod';
import { DataType, DeviceBase, PointBase } from '../contract.js';

const NODE_ID_PATTERN =
  /^(ns=(\d{1,5});)?(i=\d{1,10}|s=.+|g=[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|b=[A-Za-z0-9+/]+={0,2})$/;

/** An OPC UA node id in its string form (OPC UA Part 6, 5.3.1.10); namespace URIs (`nsu=`) are not accepted. */
export const NodeIdString = z
  .string()
  .regex(
    NODE_ID_PATTERN,
    'expected an OPC UA node id such as "ns=1;s=cnc-01.spindle-speed", "ns=2;i=1001", "i=2258", "g=<guid>" or "b=<base64>"',
  )
  .refine((nodeId) => Number(NODE_ID_PATTERN.exec(nodeId)?.[2] ?? 0) <= 65_535, 'namespace index above 65535')
  .refine((nodeId) => {
    const numeric = /(?:^|;)i=(\d+)$/.exec(nodeId);
    return numeric === null || Number(numeric[1]) <= 0xffff_ffff;
  }, 'numeric identifier above 4294967295');

export const EndpointUrl = z
  .string()
  .regex(
    /^opc\.tcp:\/\/([^\s/:[\]]+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?(\/\S*)?$/,
    'expected an opc.tcp:// endpoint URL such as opc.tcp://127.0.0.1:4841',
  );

export const OpcuaPoint = PointBase.extend({
  nodeId: NodeIdString.describe('the variable to read, e.g. ns=1;s=cnc-01.spindle-speed'),
  dataType: DataType.optional().describe('declared data type, published in the point metadata'),
});
export type OpcuaPoint = z.infer<typeof OpcuaPoint>;

/**
 * Security is None/anonymous for now. Policies, user identities and the PKI will come as one optional
 * `security:` block beside `endpoint`, consumed only where the client options are built (adapter.ts).
 */
export const deviceSchema = DeviceBase.extend({
  protocol: z.literal('opcua'),
  endpoint: EndpointUrl.describe("the server's endpoint URL; its host must resolve from the gateway"),
  publishingIntervalMs: z
    .number()
    .int()
    .min(50)
    .max(3_600_000)
    .default(1000)
    .describe('how often the server sends the changes of the subscription'),
  samplingIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(500)
    .describe('how often the server samples each point (0 = as fast as it can)'),
  points: z.array(OpcuaPoint).min(1, 'expected at least one point'),
});
export type OpcuaDevice = z.infer<typeof deviceSchema>;
