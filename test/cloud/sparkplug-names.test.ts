/** The pure parts of reading other vendors' Sparkplug nodes: names, templates, units, seq, back-off, config. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCollectorConfig } from '../../cloud/config.js';
import { expandTemplate, namePattern, stableId } from '../../cloud/sparkplug/names.js';
import { RebirthBackoff } from '../../cloud/sparkplug/rebirth.js';
import { SessionSequence } from '../../cloud/sparkplug/sequence.js';
import { unitOf } from '../../cloud/sparkplug/units.js';
import { Identifier } from '../../gateway/schema/index.js';

const hash = (name: string) => createHash('sha256').update(name).digest('hex').slice(0, 8);

describe('stableId', () => {
  it('keeps identifiers, slugs everything else with a hash of the original', () => {
    expect(stableId('line-3')).toBe('line-3');
    expect(stableId('Inputs/Temperature')).toBe(`inputs-temperature-${hash('Inputs/Temperature')}`);
    expect(stableId('Température Zone 1')).toBe(`temperature-zone-1-${hash('Température Zone 1')}`);
    expect(stableId('温度')).toBe(`x-${hash('温度')}`);
    expect(stableId('_Hidden__Tag_')).toBe(`hidden__tag-${hash('_Hidden__Tag_')}`);
  });

  it('gives the ids the README shows: a point id is stable across collectors and versions', () => {
    expect(
      ['Plant A/Edge 1', 'PLC 3', 'Inputs/Temperature', 'inputs/temperature', 'Line 3 Speed'].map(stableId),
    ).toEqual([
      'plant-a-edge-1-ef2f845b',
      'plc-3-70ced22e',
      'inputs-temperature-2faf3a32',
      'inputs-temperature-75e9c180',
      'line-3-speed-5441c81d',
    ]);
  });

  it('never maps two different names to one id, and every id is an identifier', () => {
    const names = [
      'Line 3 Speed',
      'line 3 speed',
      'Line-3-Speed',
      'line-3-speed',
      'Line/3/Speed',
      'Line 3  Speed',
      'LINE 3 SPEED',
      `${'very long name '.repeat(8)}a`,
      `${'very long name '.repeat(8)}b`,
      '',
      ' ',
      '🙂',
    ];
    const ids = names.map(stableId);
    expect(new Set(ids).size).toBe(names.length);
    for (const id of ids) expect(Identifier.safeParse(id).success, id).toBe(true);
    expect(names.map(stableId)).toEqual(ids);
  });
});

describe('templates and patterns', () => {
  const names = { group: 'Plant A', node: 'Edge 1', device: 'PLC 3' };
  it('uses a literal as it is and makes a filled-in template an identifier', () => {
    expect(expandTemplate('plant-a', names)).toBe('plant-a');
    expect(expandTemplate('{device}', names)).toBe(stableId('PLC 3'));
    expect(expandTemplate('{group}/{node}', names)).toBe(stableId('Plant A/Edge 1'));
  });
  it('matches exactly or by * glob, case-sensitively', () => {
    expect(namePattern('Edge *')('Edge 12')).toBe(true);
    expect(namePattern('Edge *')('edge 12')).toBe(false);
    expect(namePattern('PLC (3)')('PLC (3)')).toBe(true);
    expect(namePattern('*')('')).toBe(true);
  });
  it('refuses configs it cannot use, naming the path', () => {
    expect(() =>
      buildCollectorConfig({
        sparkplug: { nodes: [{ region: 'BJ', project: 'p', site: 'Plant A', line: '{line}' }] },
      }),
    ).toThrow(
      /sparkplug\.nodes\[0\]\.site: .*identifier[\s\S]*sparkplug\.nodes\[0\]\.line: placeholders are/,
    );
    expect(() => buildCollectorConfig({ sparkplug: { unmapped: 'quarantine' } })).toThrow(
      /sparkplug\.quarantine/,
    );
  });
});

describe('unitOf', () => {
  it('maps unambiguous symbols to UNECE codes, keeps codes and other texts', () => {
    expect(['°C', 'kWh', 'rpm', 'm³/h', '%', 'KWH', 'C', 'gal/min', ' bar ', '', 7].map(unitOf)).toEqual([
      'CEL',
      'KWH',
      'RPM',
      'MQH',
      'P1',
      'KWH',
      'C',
      'gal/min',
      'BAR',
      undefined,
      undefined,
    ]);
    expect(unitOf('constructor')).toBe('constructor');
  });
});

describe('SessionSequence', () => {
  it('numbers messages after the NBIRTH as batches, across the 255 → 0 wrap, with late and repeated ones', () => {
    const sequence = new SessionSequence(0, 100);
    expect([1, 2].map((raw) => sequence.next(raw, 0))).toEqual([
      { seq: 100, skipped: 0 },
      { seq: 101, skipped: 0 },
    ]);
    // 2 → 255 is a step back to before the NBIRTH (a stale message), not 253 forward.
    expect(sequence.next(255, 0)).toEqual({ seq: undefined, skipped: 0 });
    for (let raw = 3; raw <= 255; raw++) sequence.next(raw, 0);
    expect(sequence.next(0, 0)).toEqual({ seq: 355, skipped: 0 });
    expect(sequence.next(11, 50)).toEqual({ seq: 366, skipped: 10 });
    expect(sequence.next(11, 50)).toEqual({ seq: 366, skipped: 0 });
    expect(sequence.next(5, 50)).toEqual({ seq: 360, skipped: 0 });
    expect(sequence.takeOverdue(49)).toEqual({ missing: 0, nextDeadline: 50 });
    expect(sequence.takeOverdue(50)).toEqual({ missing: 9, nextDeadline: undefined });
  });
});

describe('RebirthBackoff', () => {
  it('doubles while a node keeps failing, up to the maximum, and starts again once it stayed well', () => {
    const backoff = new RebirthBackoff(1000, 3000);
    const asked = [0, 500, 1000, 2999, 3000, 5999, 6000, 8999, 9000].filter((t) => backoff.mayAsk('n', t));
    expect(asked).toEqual([0, 1000, 3000, 6000, 9000]);
    // Well before its back-off ran out twice over: still the longest wait.
    backoff.wasWell('n', 11_999);
    expect(backoff.mayAsk('n', 12_000)).toBe(true);
    backoff.wasWell('n', 18_000);
    expect([18_000, 18_999, 19_000].map((t) => backoff.mayAsk('n', t))).toEqual([true, false, true]);
  });
});
