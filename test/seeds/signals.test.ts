import { describe, expect, it } from 'vitest';
import { findSite, sites } from '../../seeds/catalogue.js';
import { opcuaPointsOf, registerMaps } from '../../seeds/device-maps.js';
import { hashSeed, MachineState, mulberry32, SiteModel, TICK_MS } from '../../seeds/signals.js';

const site = findSite('bj-etown-cnc');
if (!site) throw new Error('site 0 missing from the catalogue');
const START = Date.UTC(2025, 0, 6, 8);

/** Samples every point of the site each `everyMs` of model time for `durationMs`. */
function trace(model: SiteModel, durationMs: number, everyMs: number) {
  const samples: {
    t: number;
    cnc01: Record<string, number>;
    meter: Record<string, number>;
    water: Record<string, number>;
    plc: Record<string, number>;
  }[] = [];
  for (let t = START + everyMs; t <= START + durationMs; t += everyMs) {
    model.advanceTo(t);
    samples.push({
      t: model.timeMs,
      cnc01: model.equipmentValues('cnc-01') ?? {},
      meter: model.modbusValues(1) ?? {},
      water: model.modbusValues(2) ?? {},
      plc: model.modbusValues(3) ?? {},
    });
  }
  return samples;
}

describe('PRNG', () => {
  it('mulberry32 repeats for the same seed and differs for another', () => {
    const a = mulberry32(hashSeed('bj-etown-cnc/cnc-01'));
    const b = mulberry32(hashSeed('bj-etown-cnc/cnc-01'));
    const c = mulberry32(hashSeed('bj-etown-cnc/cnc-02'));
    const seqA = Array.from({ length: 20 }, a);
    expect(Array.from({ length: 20 }, b)).toEqual(seqA);
    expect(Array.from({ length: 20 }, c)).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('site model', () => {
  it('gives the same sequence for the same seed, whatever the advance step', () => {
    const coarse = new SiteModel(site, { startMs: START });
    const fine = new SiteModel(site, { startMs: START });
    for (let t = START; t <= START + 60_000; t += 250) fine.advanceTo(t);
    coarse.advanceTo(START + 60_000);
    expect(fine.timeMs).toBe(coarse.timeMs);
    expect(fine.equipmentValues('cnc-01')).toEqual(coarse.equipmentValues('cnc-01'));
    expect(fine.modbusValues(1)).toEqual(coarse.modbusValues(1));
    expect(trace(new SiteModel(site, { startMs: START }), 120_000, 1000)).toEqual(
      trace(new SiteModel(site, { startMs: START }), 120_000, 1000),
    );
  });

  it('gives another sequence for another seed', () => {
    const a = trace(new SiteModel(site, { startMs: START, seed: 'a' }), 60_000, 1000);
    const b = trace(new SiteModel(site, { startMs: START, seed: 'b' }), 60_000, 1000);
    expect(a).not.toEqual(b);
  });

  it('advances in whole ticks and reading values does not disturb the sequence', () => {
    const model = new SiteModel(site, { startMs: START });
    model.advanceTo(START + TICK_MS * 3 + TICK_MS / 2);
    expect(model.timeMs).toBe(START + TICK_MS * 3);
    const quiet = new SiteModel(site, { startMs: START });
    const chatty = new SiteModel(site, { startMs: START });
    for (let t = START; t <= START + 10_000; t += TICK_MS) {
      quiet.advanceTo(t);
      chatty.advanceTo(t);
      chatty.equipmentValues('cnc-01');
      chatty.modbusValues(1);
    }
    expect(chatty.equipmentValues('cnc-01')).toEqual(quiet.equipmentValues('cnc-01'));
  });

  it('machines go through running, idle and down within an hour and counters never go back', () => {
    const samples = trace(new SiteModel(site, { startMs: START }), 3_600_000, 1000);
    const states = new Set(samples.map((s) => s.cnc01.state));
    expect(states).toEqual(new Set([MachineState.running, MachineState.idle, MachineState.down]));
    let changes = 0;
    for (let i = 1; i < samples.length; i++) {
      const [before, after] = [samples[i - 1], samples[i]] as [(typeof samples)[0], (typeof samples)[0]];
      if (before.cnc01.state !== after.cnc01.state) changes++;
      for (const counter of ['good-count', 'reject-count'] as const) {
        expect(after.cnc01[counter]).toBeGreaterThanOrEqual(before.cnc01[counter] ?? 0);
        expect(after.plc[counter]).toBeGreaterThanOrEqual(before.plc[counter] ?? 0);
      }
      expect(after.meter['energy-total']).toBeGreaterThan(before.meter['energy-total'] ?? 0);
      expect(after.water['volume-total']).toBeGreaterThan(before.water['volume-total'] ?? 0);
    }
    // Tens of seconds to a few minutes per state: at least ~20 changes an hour, never one per second.
    expect(changes).toBeGreaterThan(20);
    expect(changes).toBeLessThan(200);
  });

  it('counts parts only while running, slower than ideal and with a few rejects', () => {
    const model = new SiteModel(site, { startMs: START });
    const first = model.equipmentValues('cnc-01') ?? {};
    let runningMs = 0;
    let partsWhileStopped = 0;
    let previous = first;
    for (let t = START + 1000; t <= START + 4 * 3_600_000; t += 1000) {
      const wasRunning = previous.state === MachineState.running;
      model.advanceTo(t);
      const now = model.equipmentValues('cnc-01') ?? {};
      const parts =
        (now['good-count'] ?? 0) +
        (now['reject-count'] ?? 0) -
        (previous['good-count'] ?? 0) -
        (previous['reject-count'] ?? 0);
      if (wasRunning && now.state === MachineState.running) runningMs += 1000;
      if (!wasRunning && now.state !== MachineState.running) partsWhileStopped += parts;
      previous = now;
    }
    const good = (previous['good-count'] ?? 0) - (first['good-count'] ?? 0);
    const rejects = (previous['reject-count'] ?? 0) - (first['reject-count'] ?? 0);
    const idealCycleSec = first['ideal-cycle-time'] ?? 0;
    const performance = ((good + rejects) * idealCycleSec) / (runningMs / 1000);
    expect(partsWhileStopped).toBe(0);
    expect(good).toBeGreaterThan(0);
    expect(rejects).toBeGreaterThan(0);
    expect(rejects / (good + rejects)).toBeLessThan(0.1);
    expect(performance).toBeGreaterThan(0.7);
    expect(performance).toBeLessThan(1);
  });

  it('line PLC sums its machines and runs while one of them runs', () => {
    const model = new SiteModel(site, { startMs: START });
    for (let t = START; t <= START + 1_800_000; t += 5000) {
      model.advanceTo(t);
      const machines = ['cnc-01', 'cnc-02'].map((id) => model.equipmentValues(id) ?? {});
      const plc = model.modbusValues(3) ?? {};
      expect(plc['good-count']).toBe(machines.reduce((sum, m) => sum + (m['good-count'] ?? 0), 0));
      expect(plc.state === MachineState.running).toBe(machines.some((m) => m.state === MachineState.running));
      expect((plc.speed ?? 0) > 0).toBe(plc.state === MachineState.running);
    }
  });

  it('uses more energy and water per 20 s when more machines run', () => {
    const model = new SiteModel(site, { startMs: START });
    const byRunning = new Map<number, { energy: number; water: number; windows: number }>();
    let previous = {
      energy: model.modbusValues(1)?.['energy-total'] ?? 0,
      water: model.modbusValues(2)?.['volume-total'] ?? 0,
    };
    for (let t = START + 20_000; t <= START + 12 * 3_600_000; t += 20_000) {
      const runningAtStart = ['cnc-01', 'cnc-02'].filter((id) => model.machine(id)?.running).length;
      model.advanceTo(t);
      const runningAtEnd = ['cnc-01', 'cnc-02'].filter((id) => model.machine(id)?.running).length;
      const now = {
        energy: model.modbusValues(1)?.['energy-total'] ?? 0,
        water: model.modbusValues(2)?.['volume-total'] ?? 0,
      };
      if (runningAtStart === runningAtEnd) {
        const bucket = byRunning.get(runningAtEnd) ?? { energy: 0, water: 0, windows: 0 };
        bucket.energy += now.energy - previous.energy;
        bucket.water += now.water - previous.water;
        bucket.windows++;
        byRunning.set(runningAtEnd, bucket);
      }
      previous = now;
    }
    const rate = (running: number) => {
      const bucket = byRunning.get(running);
      if (!bucket || bucket.windows === 0) throw new Error(`no 20 s window with ${running} machines running`);
      return { energy: bucket.energy / bucket.windows, water: bucket.water / bucket.windows };
    };
    expect(rate(1).energy).toBeGreaterThan(rate(0).energy);
    expect(rate(2).energy).toBeGreaterThan(rate(1).energy);
    expect(rate(2).water).toBeGreaterThan(rate(0).water);
  });

  it('gives exactly the points the device maps declare', () => {
    for (const s of sites) {
      const model = new SiteModel(s, { startMs: START });
      for (const line of s.lines) {
        for (const equipment of line.equipment) {
          expect(Object.keys(model.equipmentValues(equipment.id) ?? {}).sort()).toEqual(
            opcuaPointsOf(equipment.kind)
              .map((p) => p.name)
              .sort(),
          );
        }
        for (const device of line.modbus) {
          expect(Object.keys(model.modbusValues(device.unitId) ?? {}).sort()).toEqual(
            registerMaps[device.kind].map((r) => r.name).sort(),
          );
        }
      }
    }
  });

  it('models every site of the catalogue with plausible values', () => {
    for (const s of sites) {
      const model = new SiteModel(s, { startMs: START });
      model.advanceTo(START + 300_000);
      for (const line of s.lines) {
        for (const equipment of line.equipment) {
          const values = model.equipmentValues(equipment.id) ?? {};
          for (const value of Object.values(values)) expect(Number.isFinite(value) && value >= 0).toBe(true);
        }
        for (const device of line.modbus) {
          const values = model.modbusValues(device.unitId) ?? {};
          expect(Object.keys(values).length).toBeGreaterThan(0);
          if (device.kind === 'energy-meter') {
            expect(values.voltage).toBeGreaterThan(380);
            expect(values.voltage).toBeLessThan(420);
            expect(values['power-factor']).toBeGreaterThan(0.7);
            expect(values['power-factor']).toBeLessThan(0.96);
          }
        }
      }
    }
  });
});
