/** The adapter registry and the wire contract's protocol list name the same protocols. */
import { describe, expect, it } from 'vitest';
import { adapterModules, builtInAdapterModules, registerAdapterModule } from '../../adapters/registry.js';
import { protocols } from '../../gateway/schema/index.js';
import { textLineAdapter } from './minimal-protocol/index.js';

describe('the adapter registry', () => {
  it('has one module per protocol of the wire contract, and no other', () => {
    const registered = builtInAdapterModules.map((module) => module.protocol);
    expect(new Set(registered).size).toBe(registered.length);
    expect([...registered].sort()).toEqual([...protocols].sort());
  });

  it('takes a module of a protocol it does not ship until told to forget it, and refuses a second one', () => {
    const unregister = registerAdapterModule(textLineAdapter);
    try {
      expect(adapterModules.map((module) => module.protocol)).toContain('textline');
      expect(() => registerAdapterModule(textLineAdapter)).toThrow(
        expect.objectContaining({ code: 'PROTOCOL_TAKEN' }),
      );
    } finally {
      unregister();
    }
    expect(adapterModules.map((module) => module.protocol)).toEqual(
      builtInAdapterModules.map((m) => m.protocol),
    );
  });
});
