/** A site's simulators: one shared site model on one timer, feeding its OPC UA and Modbus servers. */
import type { Site } from './catalogue.js';
import type { SitePorts } from './ports.js';
import { SiteModel, TICK_MS } from './signals.js';
import { startModbusSimulator } from './simulators/modbus-simulator.js';
import { startOpcuaSimulator } from './simulators/opcua-simulator.js';

export { defaultPorts, type SitePorts } from './ports.js';

export interface SiteSimulatorOptions extends SitePorts {
  /** Address both servers listen on; default 127.0.0.1, so the writable demo devices stay on this machine. */
  host?: string;
  /** Seed of the signal models; default `jjj-iiot`. */
  seed?: string;
  /** OPC UA PKI folder; default a temporary folder removed on stop. */
  pkiDir?: string;
  /** How often the model catches up with the wall clock, ms; default 250. */
  updateIntervalMs?: number;
}

export interface SiteSimulators {
  site: Site;
  model: SiteModel;
  opcuaEndpoint: string;
  modbus: { host: string; port: number; units: ReadonlyMap<number, string> };
  stop(): Promise<void>;
}

export async function startSiteSimulators(
  site: Site,
  options: SiteSimulatorOptions,
): Promise<SiteSimulators> {
  const model = new SiteModel(site, { startMs: Date.now(), ...(options.seed ? { seed: options.seed } : {}) });
  const timer = setInterval(
    () => model.advanceTo(Date.now()),
    Math.max(TICK_MS, options.updateIntervalMs ?? 250),
  );
  const [opcuaStart, modbusStart] = await Promise.allSettled([
    startOpcuaSimulator(site, {
      port: options.opcuaPort,
      model,
      ...(options.host ? { host: options.host } : {}),
      ...(options.pkiDir ? { pkiDir: options.pkiDir } : {}),
    }),
    startModbusSimulator(site, {
      port: options.modbusPort,
      model,
      ...(options.host ? { host: options.host } : {}),
    }),
  ]);
  const opcua = opcuaStart.status === 'fulfilled' ? opcuaStart.value : undefined;
  const modbus = modbusStart.status === 'fulfilled' ? modbusStart.value : undefined;
  const stopAll = async () => {
    clearInterval(timer);
    const results = await Promise.allSettled([opcua?.stop(), modbus?.stop()]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };
  if (!opcua || !modbus) {
    // One server may have started while the other failed: close what runs, then report the cause.
    await stopAll();
    throw opcuaStart.status === 'rejected'
      ? opcuaStart.reason
      : (modbusStart as PromiseRejectedResult).reason;
  }
  let stopped: Promise<void> | undefined;
  return {
    site,
    model,
    opcuaEndpoint: opcua.endpoint,
    modbus: { host: modbus.host, port: modbus.port, units: modbus.units },
    stop() {
      stopped ??= stopAll();
      return stopped;
    },
  };
}
