/**
 * `npm run seeds:configs`: writes `seeds/configs/<site>.yaml`, the gateway config of every seed site
 * against its simulators on the default ports and a broker at mqtt://127.0.0.1:1883.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sites } from './catalogue.js';
import { configPathFor, type GatewayConfigTargets, renderConfigYaml } from './gateway-config.js';
import { defaultPorts } from './ports.js';

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';

/** The targets the committed configs are rendered with. */
export function defaultTargets(siteIndex: number): GatewayConfigTargets {
  const ports = defaultPorts(siteIndex);
  return {
    opcuaEndpoint: `opc.tcp://127.0.0.1:${ports.opcuaPort}`,
    modbusHost: '127.0.0.1',
    modbusPort: ports.modbusPort,
    mqttUrl: DEFAULT_MQTT_URL,
  };
}

function main(): void {
  const root = process.cwd();
  mkdirSync(resolve(root, 'seeds/configs'), { recursive: true });
  sites.forEach((site, i) => {
    const file = resolve(root, configPathFor(site));
    writeFileSync(file, renderConfigYaml(site, defaultTargets(i)));
    console.log(`wrote ${configPathFor(site)}`);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
