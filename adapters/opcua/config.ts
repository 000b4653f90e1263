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

/** Data-change filter of a monitored item: report a change only beyond this deadband. */
export const Deadband = z.strictObject({
  type: z.enum(['absolute', 'percent']).describe('absolute: in the value unit; percent: of the EURange'),
  value: z.number().min(0).describe('the deadband; percent is 0 – 100'),
});
export type Deadband = z.infer<typeof Deadband>;

const samplingIntervalMs = z
  .number()
  .int()
  .min(0)
  .max(3_600_000)
  .describe('how often the server samples the point (0 = as fast as it can)');
const queueSize = z
  .number()
  .int()
  .min(1)
  .max(10_000)
  .describe('changes the server queues per point between publishes');
const discardOldest = z
  .boolean()
  .describe('when the queue is full, drop the oldest change (else the newest)');

/** Monitored-item options a point may override; unset ones fall back to the device's. */
const MonitoringOverrides = {
  samplingIntervalMs: samplingIntervalMs.optional(),
  queueSize: queueSize.optional(),
  discardOldest: discardOldest.optional(),
  deadband: Deadband.optional(),
};

export const OpcuaPoint = PointBase.extend({
  nodeId: NodeIdString.describe('the variable to read, e.g. ns=1;s=cnc-01.spindle-speed'),
  dataType: DataType.optional().describe('declared data type, published in the point metadata'),
  browsePath: z.string().optional().describe('where discovery found the node; informational'),
  ...MonitoringOverrides,
});
export type OpcuaPoint = z.infer<typeof OpcuaPoint>;

export const securityPolicies = [
  'None',
  'Basic256Sha256',
  'Aes128_Sha256_RsaOaep',
  'Aes256_Sha256_RsaPss',
] as const;

const UserIdentity = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('anonymous') }),
  z.strictObject({
    type: z.literal('username'),
    username: z.string().min(1),
    password: z.string().describe('the password; prefer passwordEnv to keep it out of the file').optional(),
    passwordEnv: z
      .string()
      .min(1)
      .describe('name of the environment variable holding the password')
      .optional(),
  }),
  z.strictObject({
    type: z.literal('certificate'),
    certificateFile: z.string().min(1).describe('PEM or DER X.509 user certificate'),
    privateKeyFile: z.string().min(1).describe('its PEM private key'),
  }),
]);
export type UserIdentity = z.infer<typeof UserIdentity>;

export const Security = z
  .strictObject({
    policy: z.enum(securityPolicies).default('None'),
    mode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
    user: UserIdentity.default({ type: 'anonymous' }),
  })
  .refine((security) => (security.policy === 'None') === (security.mode === 'None'), {
    message: 'policy None goes with mode None, and a signing policy with mode Sign or SignAndEncrypt',
    path: ['mode'],
  })
  .refine(
    (s) =>
      s.user.type !== 'username' || (s.user.password === undefined) !== (s.user.passwordEnv === undefined),
    {
      message: 'a username identity needs exactly one of password or passwordEnv',
      path: ['user'],
    },
  );
export type Security = z.infer<typeof Security>;

export const deviceSchema = DeviceBase.extend({
  protocol: z.literal('opcua'),
  endpoint: EndpointUrl.describe("the server's endpoint URL; its host must resolve from the gateway"),
  security: Security.optional().describe('message security and user identity; default None/anonymous'),
  mode: z
    .enum(['subscription', 'polling'])
    .default('subscription')
    .describe('subscription: the server reports changes; polling: the gateway Reads every pollIntervalMs'),
  publishingIntervalMs: z
    .number()
    .int()
    .min(50)
    .max(3_600_000)
    .default(1000)
    .describe('how often the server sends the changes of the subscription'),
  maxNotificationsPerPublish: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .optional()
    .describe(
      'most changes the server puts in one publish response (0 = no limit; default 1000): it sends the rest in ' +
        'more responses right after, so the gateway decodes a publish in pieces instead of all at once',
    ),
  samplingIntervalMs: samplingIntervalMs.default(0),
  queueSize: queueSize.default(10),
  discardOldest: discardOldest.default(true),
  deadband: Deadband.optional().describe('data-change filter for every point; a point may override it'),
  pollIntervalMs: z
    .number()
    .int()
    .min(50)
    .max(3_600_000)
    .default(1000)
    .describe('Read period in polling mode'),
  timestamp: z
    .enum(['source', 'server'])
    .default('source')
    .describe("which timestamp is the series time: the device's (source) or the server's"),
  points: z.array(OpcuaPoint).min(1, 'expected at least one point'),
});
export type OpcuaDevice = z.infer<typeof deviceSchema>;
