/**
 * Every protocol the gateway speaks: one line per adapter folder. The keys must be exactly the wire
 * contract's `protocols` (gateway/schema), each naming its own module: the compiler refuses a module
 * missing from the list or a list entry without a module, and test/adapters/registry.test.ts checks
 * the same at run time.
 */

import type { z } from 'zod';
import { JjjError } from '../gateway/common/errors.js';
import type { Protocol } from '../gateway/schema/index.js';
import type { AdapterModule, DeviceBase, PointBase } from './contract.js';
import { modbusAdapter } from './modbus/index.js';
import { opcuaAdapter } from './opcua/index.js';

const modulesByProtocol = {
  modbus: modbusAdapter,
  opcua: opcuaAdapter,
} satisfies { [P in Protocol]: { protocol: P } };

export const builtInAdapterModules = Object.values(modulesByProtocol);

export type AnyAdapterModule = (typeof builtInAdapterModules)[number];

/** The modules the gateway dispatches devices to: the built-in ones, then any registered below. */
export const adapterModules: readonly AnyAdapterModule[] = [...builtInAdapterModules];

type Device = z.infer<typeof DeviceBase> & { protocol: string; points: PointBase[] };

/**
 * Adds a protocol that is not built in: a test's own protocol, or a new adapter tried out before it
 * joins the list above. Its name is not (yet) in the wire contract's `protocols`, so the metadata the
 * gateway publishes for its points names a protocol a collector does not know: fine on a test
 * broker, and why a real protocol also goes into that list. Returns the function that removes it.
 */
export function registerAdapterModule<D extends Device>(module: AdapterModule<D>): () => void {
  const modules = adapterModules as unknown as AdapterModule<Device>[];
  if (modules.some((m) => m.protocol === module.protocol)) {
    throw new JjjError(
      'PROTOCOL_TAKEN',
      `an adapter module for protocol "${module.protocol}" is already registered`,
    );
  }
  const erased = module as unknown as AdapterModule<Device>;
  modules.push(erased);
  return () => {
    const index = modules.indexOf(erased);
    if (index >= 0) modules.splice(index, 1);
  };
}
