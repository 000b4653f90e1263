/**
 * `jjj-gateway broker-auth --out DIR [--collector-user NAME] CONFIG.yaml...`: reads every gateway
 * config of the fleet and writes the broker side of their identities into DIR (see broker-auth.ts).
 * The collector's password comes from the environment, never the command line (which `ps` shows).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BrokerAuthError,
  DEFAULT_COLLECTOR_USER,
  emqxAclFile,
  fleetIdentities,
  mosquittoAclFile,
  mosquittoPasswordFile,
} from './broker-auth.js';
import type { CliIo } from './common/cli-io.js';
import type { LoadedGatewayConfig } from './config.js';

export const COLLECTOR_PASSWORD_ENV = 'JJJ_COLLECTOR_MQTT_PASSWORD';

export const brokerAuthFiles = {
  passwords: 'passwd',
  mosquittoAcl: 'acl',
  emqxAcl: 'emqx-acl.conf',
} as const;

export interface BrokerAuthRequest {
  out: string;
  collectorUser?: string;
  configs: ReadonlyArray<{ source: string; config: LoadedGatewayConfig }>;
}

/** Writes the files and returns the summary for stdout; throws `BrokerAuthError` when it cannot. */
export function writeBrokerAuth(io: CliIo, request: BrokerAuthRequest): string {
  const password = io.env[COLLECTOR_PASSWORD_ENV];
  if (password === undefined || password === '')
    throw new BrokerAuthError([`set ${COLLECTOR_PASSWORD_ENV} to the collector's MQTT password`]);
  const identities = fleetIdentities(request.configs, {
    username: request.collectorUser ?? DEFAULT_COLLECTOR_USER,
    password,
  });
  mkdirSync(request.out, { recursive: true });
  const passwords = join(request.out, brokerAuthFiles.passwords);
  // Only the broker's user may read the hashes; chmod also covers a file that already existed.
  writeFileSync(passwords, mosquittoPasswordFile(identities), { mode: 0o600 });
  chmodSync(passwords, 0o600);
  writeFileSync(join(request.out, brokerAuthFiles.mosquittoAcl), mosquittoAclFile(identities));
  writeFileSync(join(request.out, brokerAuthFiles.emqxAcl), emqxAclFile(identities));
  const lines = identities.map(
    (identity) =>
      `  ${identity.username}: ${identity.password === undefined ? 'client certificate (CN)' : 'password'}, ` +
      `${identity.publish.length} publish and ${identity.subscribe.length} subscribe rules`,
  );
  return `wrote ${Object.values(brokerAuthFiles)
    .map((name) => join(request.out, name))
    .join(', ')} for ${identities.length} identities:\n${lines.join('\n')}\n`;
}
