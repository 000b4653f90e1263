import { describe, expect, it } from 'vitest';
import { encodeRegister, type RegisterSpec, registerMaps } from '../../seeds/device-maps.js';

const spec = (type: RegisterSpec['type'], scale = 1): RegisterSpec => ({
  name: 'x',
  table: 'holding',
  address: 0,
  type,
  scale,
  description: '',
});

describe('encodeRegister', () => {
  it('writes uint32 and float32 big-endian, high word first', () => {
    const words = encodeRegister(spec('uint32', 0.1), 123_456.7);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt16BE(words[0] ?? -1, 0);
    buffer.writeUInt16BE(words[1] ?? -1, 2);
    expect(buffer.readUInt32BE(0)).toBe(1_234_567);
    const float = encodeRegister(spec('float32'), 42.5);
    buffer.writeUInt16BE(float[0] ?? -1, 0);
    buffer.writeUInt16BE(float[1] ?? -1, 2);
    expect(buffer.readFloatBE(0)).toBe(42.5);
  });

  it('writes int16 as two’s complement and clamps to the type', () => {
    const [word] = encodeRegister(spec('int16', 0.001), -0.5);
    expect(Buffer.from([(word ?? 0) >> 8, (word ?? 0) & 0xff]).readInt16BE(0)).toBe(-500);
    expect(encodeRegister(spec('uint16'), 70_000)).toEqual([0xffff]);
    expect(encodeRegister(spec('uint16'), -3)).toEqual([0]);
  });
});

describe('registerMaps', () => {
  it('never overlaps two points of one device', () => {
    for (const [kind, specs] of Object.entries(registerMaps)) {
      const used = new Set<string>();
      for (const s of specs) {
        const words = s.type === 'uint32' || s.type === 'float32' ? 2 : 1;
        for (let i = 0; i < words; i++) {
          const key = `${s.table}:${s.address + i}`;
          expect(used.has(key), `${kind} ${key}`).toBe(false);
          used.add(key);
        }
      }
    }
  });
});
