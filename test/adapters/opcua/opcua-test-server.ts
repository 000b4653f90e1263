/** A real node-opcua server on loopback with one variable of each type the adapter must decode. */
import { join } from 'node:path';
import {
  AnonymousIdentityToken,
  coerceInt64,
  DataType,
  DataValue,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  RegisterServerMethod,
  SecurityPolicy,
  type ServerSession,
  StatusCodes,
  standardUnits,
  type UAVariable,
  type UserIdentityToken,
  UserNameIdentityToken,
  Variant,
  VariantArrayType,
  X509IdentityToken,
} from 'node-opcua';

/** A known source timestamp, so tests can tell it from the server timestamp and the receive time. */
export const SOURCE_TIME = new Date('2025-03-01T08:00:00.000Z');

export const variables = {
  'cnc-01.spindle-speed': new Variant({ dataType: DataType.Double, value: 1200.5 }),
  'cnc-01.state': new Variant({ dataType: DataType.UInt16, value: 1 }),
  'cnc-01.good-count': new Variant({ dataType: DataType.Int32, value: 4217 }),
  'cnc-01.door-open': new Variant({ dataType: DataType.Boolean, value: true }),
  'cnc-01.program': new Variant({ dataType: DataType.String, value: 'O1001 flange' }),
  'cnc-01.cycle-total': new Variant({
    dataType: DataType.Int64,
    arrayType: VariantArrayType.Scalar,
    value: coerceInt64('9007199254740993'),
  }),
  'cnc-01.last-change': new Variant({
    dataType: DataType.DateTime,
    value: new Date('2025-02-28T23:59:59.250Z'),
  }),
  'cnc-01.axis-load': new Variant({
    dataType: DataType.Double,
    arrayType: VariantArrayType.Array,
    value: [0.5, 0.25],
  }),
  'cnc-01.coolant-temp': new Variant({ dataType: DataType.Double, value: 21.5 }),
  /** Served with BadCommunicationError, as a server does when it lost its own field device. */
  'cnc-01.spindle-temp': new Variant({ dataType: DataType.Double, value: 41.5 }),
} as const;

export type VariableName = keyof typeof variables;

/** A read-only variable that always holds LIVE_VALUE, with the time of each read as its source timestamp. */
export const LIVE_VARIABLE = 'cnc-01.cycle-time';
export const LIVE_VALUE = 42.5;

export interface TestServer {
  endpoint: string;
  /** Sets a value from the "device", with a fresh source timestamp and Good status. */
  setValue(name: VariableName, value: unknown): void;
  /** Closes every session and its subscriptions on the server side, as a session timeout does. */
  dropSessions(): void;
  /** Sessions open on the server right now: a leak shows here. */
  sessionCount(): number;
  /** Sessions open now, with the security of their channel and the kind of user token they activated with. */
  sessions(): SessionInfo[];
  /** Counters since start: sessions and subscriptions created, keep-alive publish responses sent. */
  counters(): { sessionsCreated: number; subscriptionsCreated: number; keepAlives: number };
  /** Every secure channel clients opened, with how many security tokens each was issued (1 + renewals). */
  channels(): ChannelInfo[];
  /** Trusts a user's X.509 certificate (DER) for X509 identity tokens. */
  trustUserCertificate(certificate: Buffer): Promise<void>;
  stop(): Promise<void>;
}

export interface SessionInfo {
  securityPolicy: string;
  securityMode: string;
  identity: 'anonymous' | 'username' | 'certificate' | 'none';
}

export interface ChannelInfo {
  securityPolicy: string;
  securityMode: string;
  tokens: number;
  open: boolean;
}

export interface TestServerOptions {
  /** Offers only signed endpoints, TEST_USER and trusted user certificates; trusts any client. */
  secure?: boolean;
  /** The policies a secure server offers (default Basic256Sha256); every one with every mode. */
  securityPolicies?: SecurityPolicy[];
  /** The modes a secure server offers (default SignAndEncrypt). */
  securityModes?: MessageSecurityMode[];
  /** Longest secure channel token lifetime the server grants, ms (node-opcua raises requests below 2500). */
  maxSecureTokenLifetimeMs?: number;
}

/** The only user a secure test server accepts. */
export const TEST_USER = { username: 'operator', password: 'line-7-secret' };

/**
 * Starts a server on `port`; `pkiDir` is reused across restarts so certificates are made only once. A
 * `secure` server offers only Basic256Sha256 SignAndEncrypt (unless `securityPolicies` / `securityModes`
 * say otherwise), TEST_USER and user certificates trusted with `trustUserCertificate`, and trusts any client.
 */
export async function startTestServer(
  port: number,
  pkiDir: string,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const secure = options.secure === true;
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    serverCertificateManager: new OPCUACertificateManager({
      rootFolder: join(pkiDir, secure ? 'secure-server' : 'server'),
      automaticallyAcceptUnknownCertificate: secure,
    }),
    userCertificateManager: new OPCUACertificateManager({
      rootFolder: join(pkiDir, 'user'),
      automaticallyAcceptUnknownCertificate: false,
    }),
    securityModes: secure
      ? (options.securityModes ?? [MessageSecurityMode.SignAndEncrypt])
      : [MessageSecurityMode.None],
    securityPolicies: secure
      ? (options.securityPolicies ?? [SecurityPolicy.Basic256Sha256])
      : [SecurityPolicy.None],
    ...(options.maxSecureTokenLifetimeMs !== undefined && {
      defaultSecureTokenLifetime: options.maxSecureTokenLifetimeMs,
    }),
    allowAnonymous: !secure,
    userManager: {
      isValidUser: (username: string, password: string) =>
        username === TEST_USER.username && password === TEST_USER.password,
    },
    registerServerMethod: RegisterServerMethod.HIDDEN,
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('server has no address space');
  const namespace = addressSpace.getOwnNamespace();
  const machine = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'cnc-01' });
  const nodes = new Map<VariableName, UAVariable>();
  for (const [name, variant] of Object.entries(variables) as [VariableName, Variant][]) {
    if (name === 'cnc-01.coolant-temp') continue;
    const node = namespace.addVariable({
      componentOf: machine,
      browseName: name.split('.')[1] ?? name,
      nodeId: `s=${name}`,
      dataType: DataType[variant.dataType],
      valueRank: variant.arrayType === VariantArrayType.Array ? 1 : -1,
    });
    const status = name === 'cnc-01.spindle-temp' ? StatusCodes.BadCommunicationError : StatusCodes.Good;
    node.setValueFromSource(variant, status, SOURCE_TIME);
    nodes.set(name, node);
  }
  // An analog item: discovery reads its unit and range, and a percent deadband needs its EURange.
  const coolant = namespace.addAnalogDataItem({
    componentOf: machine,
    browseName: 'coolant-temp',
    nodeId: 's=cnc-01.coolant-temp',
    dataType: 'Double',
    engineeringUnitsRange: { low: 0, high: 100 },
    engineeringUnits: standardUnits.degree_celsius,
  });
  coolant.setValueFromSource({ dataType: DataType.Double, value: 21.5 }, StatusCodes.Good, SOURCE_TIME);
  nodes.set('cnc-01.coolant-temp', coolant);
  // A live measurement, as a device serves one: every read or sample is fresh (source timestamp now).
  namespace.addVariable({
    componentOf: machine,
    browseName: 'cycle-time',
    nodeId: `s=${LIVE_VARIABLE}`,
    dataType: 'Double',
    // Stamped here from Date.now(): node-opcua's own clock may run a few ms apart from it.
    value: {
      timestamped_get: () =>
        new DataValue({
          value: { dataType: DataType.Double, value: LIVE_VALUE },
          sourceTimestamp: new Date(),
          serverTimestamp: new Date(),
        }),
    },
  });
  const counters = { sessionsCreated: 0, subscriptionsCreated: 0, keepAlives: 0 };
  server.on('create_session', (session) => {
    counters.sessionsCreated++;
    session.on('new_subscription', (subscription) => {
      counters.subscriptionsCreated++;
      subscription.on('keepalive', () => counters.keepAlives++);
    });
  });
  const channels: NonNullable<ServerSession['channel']>[] = [];
  for (const endpoint of server.endpoints) endpoint.on('newChannel', (channel) => channels.push(channel));
  await server.start();
  return {
    endpoint: `opc.tcp://127.0.0.1:${port}`,
    setValue(name, value) {
      const node = nodes.get(name);
      if (!node) throw new Error(`no variable ${name}`);
      node.setValueFromSource({ dataType: variables[name].dataType, value }, StatusCodes.Good, new Date());
    },
    dropSessions() {
      for (const session of server.engine.getSessions()) {
        server.engine.closeSession(session.authenticationToken, true, 'Timeout');
      }
    },
    sessionCount: () => server.engine.currentSessionCount,
    sessions: () =>
      server.engine.getSessions().map((session) => ({
        securityPolicy: String(session.channel?.securityPolicy),
        securityMode: MessageSecurityMode[session.channel?.securityMode ?? MessageSecurityMode.Invalid],
        identity: identityOf(session.userIdentityToken),
      })),
    counters: () => ({ ...counters }),
    channels: () =>
      channels.map((channel) => ({
        securityPolicy: String(channel.securityPolicy),
        securityMode: MessageSecurityMode[channel.securityMode] ?? String(channel.securityMode),
        tokens: channel.securityTokenCount,
        open: !channel.aborted,
      })),
    trustUserCertificate: (certificate) => server.userCertificateManager.trustCertificate(certificate),
    stop: () => server.shutdown(0),
  };
}

function identityOf(token: UserIdentityToken | undefined): SessionInfo['identity'] {
  if (token instanceof AnonymousIdentityToken) return 'anonymous';
  if (token instanceof UserNameIdentityToken) return 'username';
  if (token instanceof X509IdentityToken) return 'certificate';
  return 'none';
}
