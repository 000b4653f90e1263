/**
 * The broker side of the fleet's identities, generated from the gateway configs: who may connect
 * (a Mosquitto password file) and what each identity may publish and subscribe (a Mosquitto ACL file
 * and the same rules as EMQX `acl.conf` terms). Pure functions: the command that reads the configs and
 * writes the files is `broker-auth-command.ts`. See docs/security-broker.md.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { gatewayTopic } from './announcements.js';
import { JjjError } from './common/errors.js';
import type { GatewayConfig } from './config.js';
import { SPARKPLUG_NAMESPACE, sparkplugTopic, stateTopic } from './schema/sparkplug/topics.js';
import { TOPIC_ROOT } from './schema/topics.js';

export const DEFAULT_COLLECTOR_USER = 'jjj-collector';

/**
 * Mosquitto 2.0's `mosquitto_passwd` writes `$7$101$…`: PBKDF2-HMAC-SHA512, 101 iterations, a 12-byte
 * salt, a 64-byte hash. The broker reads the count from each line; 101 keeps the CPU a reconnect storm
 * of a fleet costs the broker low, and the passwords it protects are meant to be long random secrets
 * (which no iteration count makes stronger or weaker against guessing).
 */
const MOSQUITTO_PBKDF2_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

/** An identity on the broker and the topics it may use; `password` absent: it proves itself by certificate. */
export interface BrokerIdentity {
  username: string;
  /** What the rules are for, written above them in the generated files. */
  description: string;
  password?: string;
  publish: string[];
  subscribe: string[];
}

/** The generator refused the fleet; `problems` name the config and the reason, never a password. */
export class BrokerAuthError extends JjjError {
  constructor(readonly problems: string[]) {
    super(
      'BROKER_AUTH_INVALID',
      `cannot generate the broker rules:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
}

/** One line of a Mosquitto password file; `salt` is fixed only by tests. */
export function mosquittoPasswordLine(
  username: string,
  password: string,
  salt: Buffer = randomBytes(SALT_BYTES),
): string {
  const hash = pbkdf2Sync(password, salt, MOSQUITTO_PBKDF2_ITERATIONS, HASH_BYTES, 'sha512');
  return `${username}:$7$${MOSQUITTO_PBKDF2_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * A gateway's identity: its own JSON topics (also in Sparkplug mode, where command acknowledgements
 * still travel on `command-ack`), and in Sparkplug mode its own edge node (group = site, edge node =
 * gateway id, as gateway/sparkplug/edge-node.ts names them) and its primary host's STATE.
 * A client certificate (mqtt.tls.cert) makes the identity the gateway id: the broker takes the
 * certificate's CN as the username (`use_identity_as_username`), so no password line is written.
 */
function gatewayIdentity(config: GatewayConfig): BrokerIdentity {
  const { gateway, mqtt } = config;
  const byCertificate = mqtt.tls?.cert !== undefined;
  const username = byCertificate ? gateway.id : (mqtt.username ?? gateway.id);
  const publish = (['telemetry', 'metadata', 'status', 'command-ack'] as const).map((kind) =>
    gatewayTopic(gateway, kind),
  );
  const subscribe = [gatewayTopic(gateway, 'command')];
  if (mqtt.format === 'sparkplug') {
    const node = (messageType: 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD') =>
      sparkplugTopic({ groupId: gateway.site, messageType, edgeNodeId: gateway.id });
    const devices = (messageType: 'DBIRTH' | 'DDATA' | 'DDEATH' | 'DCMD') =>
      sparkplugTopic({ groupId: gateway.site, messageType, edgeNodeId: gateway.id, deviceId: '+' });
    publish.push(
      node('NBIRTH'),
      node('NDEATH'),
      node('NDATA'),
      devices('DBIRTH'),
      devices('DDATA'),
      devices('DDEATH'),
    );
    subscribe.push(node('NCMD'), devices('DCMD'));
    if (mqtt.sparkplug.primaryHostId !== undefined) subscribe.push(stateTopic(mqtt.sparkplug.primaryHostId));
  }
  const identity: BrokerIdentity = {
    username,
    description: `gateway ${gateway.id} (${gateway.region}/${gateway.site}, ${mqtt.format}, ${byCertificate ? 'client certificate' : 'password'})`,
    publish,
    subscribe,
  };
  if (!byCertificate && mqtt.password !== undefined) identity.password = mqtt.password;
  return identity;
}

/**
 * The collector reads everything of both namespaces (also through `$share/<group>/…`) and publishes
 * only the commands of the fleet's gateways (JSON command, Sparkplug NCMD/DCMD) and the STATE of the
 * primary hosts the gateways wait for: the cloud side is the only one that may command.
 */
function collectorIdentity(
  username: string,
  password: string,
  gateways: readonly GatewayConfig[],
): BrokerIdentity {
  const publish: string[] = [];
  const hosts = new Set<string>();
  for (const { gateway, mqtt } of gateways) {
    publish.push(gatewayTopic(gateway, 'command'));
    if (mqtt.format !== 'sparkplug') continue;
    publish.push(
      sparkplugTopic({ groupId: gateway.site, messageType: 'NCMD', edgeNodeId: gateway.id }),
      sparkplugTopic({ groupId: gateway.site, messageType: 'DCMD', edgeNodeId: gateway.id, deviceId: '+' }),
    );
    if (mqtt.sparkplug.primaryHostId !== undefined) hosts.add(mqtt.sparkplug.primaryHostId);
  }
  publish.push(...[...hosts].map(stateTopic));
  return {
    username,
    description: 'the collector (cloud): reads everything, publishes only commands',
    password,
    publish,
    subscribe: [`${TOPIC_ROOT}/#`, `${SPARKPLUG_NAMESPACE}/#`],
  };
}

/** A username both files can hold: no separator of the password file, no space or quote. */
const SAFE_USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** Every identity of the fleet, or `BrokerAuthError` naming each conflict or missing credential. */
export function fleetIdentities(
  gateways: ReadonlyArray<{ source: string; config: GatewayConfig }>,
  collector: { username: string; password: string },
): BrokerIdentity[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  const claim = (username: string, owner: string) => {
    const first = owners.get(username);
    if (first !== undefined) problems.push(`${owner}: username "${username}" is already ${first}'s`);
    else owners.set(username, owner);
  };
  claim(collector.username, 'the collector');
  if (!SAFE_USERNAME.test(collector.username))
    problems.push(
      `collector: username "${collector.username}" is not one a password file can hold (letters, digits, . _ @ -)`,
    );
  const gatewayIds = new Map<string, string>();
  const identities = gateways.map(({ source, config }) => {
    const identity = gatewayIdentity(config);
    const id = config.gateway.id;
    const first = gatewayIds.get(id);
    if (first !== undefined) problems.push(`${source}: gateway id "${id}" is also the id in ${first}`);
    gatewayIds.set(id, source);
    claim(identity.username, source);
    if (!SAFE_USERNAME.test(identity.username))
      problems.push(
        `${source}: mqtt.username "${identity.username}" is not one a password file can hold (letters, digits, . _ @ -)`,
      );
    if (config.mqtt.tls?.cert === undefined && identity.password === undefined)
      problems.push(
        `${source}: gateway ${id} has no credential: set mqtt.password or a client certificate (mqtt.tls.cert)`,
      );
    return identity;
  });
  if (problems.length > 0) throw new BrokerAuthError(problems);
  return [
    ...identities,
    collectorIdentity(
      collector.username,
      collector.password,
      gateways.map((g) => g.config),
    ),
  ];
}

const GENERATED = 'Generated by `jjj-gateway broker-auth` from the gateway configs; regenerate, do not edit.';

/** The Mosquitto password file: one `$7$` line per identity that has a password. */
export function mosquittoPasswordFile(identities: readonly BrokerIdentity[], salt?: () => Buffer): string {
  return identities
    .flatMap((identity) =>
      identity.password === undefined
        ? []
        : [mosquittoPasswordLine(identity.username, identity.password, salt?.())],
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** The Mosquitto ACL file: a `user` block per identity; whatever no block grants is denied. */
export function mosquittoAclFile(identities: readonly BrokerIdentity[]): string {
  const blocks = identities.map((identity) =>
    [
      `# ${identity.description}`,
      `user ${identity.username}`,
      ...identity.publish.map((topic) => `topic write ${topic}`),
      ...identity.subscribe.map((topic) => `topic read ${topic}`),
    ].join('\n'),
  );
  return `# ${GENERATED}\n# No pattern lines and no anonymous block: an identity gets exactly its own lines.\n\n${blocks.join('\n\n')}\n`;
}

/**
 * The same rules as EMQX 5 file authorization (`acl.conf`, Erlang terms), closed by `{deny, all}.`;
 * use it with `authorization.no_match = deny`. Topics and usernames are plain strings here, which the
 * checks of `fleetIdentities` and the topic identifiers keep free of quotes and backslashes.
 */
export function emqxAclFile(identities: readonly BrokerIdentity[]): string {
  const list = (topics: readonly string[]) => `[${topics.map((topic) => `"${topic}"`).join(', ')}]`;
  const rules = identities.map((identity) =>
    [
      `%% ${identity.description}`,
      `{allow, {username, "${identity.username}"}, publish, ${list(identity.publish)}}.`,
      `{allow, {username, "${identity.username}"}, subscribe, ${list(identity.subscribe)}}.`,
    ].join('\n'),
  );
  return `%% ${GENERATED}\n\n${rules.join('\n\n')}\n\n%% Nobody else, nothing else.\n{deny, all}.\n`;
}
