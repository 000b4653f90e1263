/**
 * Pure, deterministic signal models of a site. A site model advances in fixed ticks to a target time,
 * so the same seed and the same number of ticks always give the same values, whatever the wall clock
 * did. Machines run a state machine (running / idle / down) and count parts; the utilities follow the
 * machines (power by state, energy integrating power, water flow by running machines, line PLCs
 * summing their line), so OEE, output and energy or water per unit can be computed from the signals.
 */
import {
  modbusDevicesOf,
  type OpcuaEquipment,
  type OpcuaEquipmentKind,
  opcuaEquipmentOf,
  type PlacedModbusDevice,
  type Site,
  scopeLineOf,
} from './catalogue.js';

export const TICK_MS = 100;
const MS_PER_HOUR = 3_600_000;

export const MachineState = { running: 1, idle: 2, down: 3 } as const;
export type MachineState = (typeof MachineState)[keyof typeof MachineState];

/** FNV-1a (32-bit) of a string: a stable seed from ids. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export type Random = () => number;

/** mulberry32: a small, fast PRNG with a 32-bit state; uniform in [0, 1). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function between(random: Random, min: number, max: number): number {
  return min + (max - min) * random();
}

/** Standard normal draw (Box–Muller). */
function gaussian(random: Random): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** One step of a first-order lag with time constant `tauSec`. */
function lag(value: number, target: number, dtMs: number, tauSec: number): number {
  return target + (value - target) * Math.exp(-dtMs / (tauSec * 1000));
}

interface KindProfile {
  /** Electrical load by state, kW. */
  loadKw: Record<MachineState, number>;
  /** Cooling / process water while running, m³/h. */
  waterM3h: number;
}

const profiles: Record<OpcuaEquipmentKind, KindProfile> = {
  cnc: { loadKw: { 1: 15, 2: 3.5, 3: 0.6 }, waterM3h: 0.15 },
  robot: { loadKw: { 1: 4, 2: 0.8, 3: 0.2 }, waterM3h: 0 },
  'injection-moulding': { loadKw: { 1: 32, 2: 9, 3: 1.5 }, waterM3h: 0.6 },
  'smt-placement': { loadKw: { 1: 6, 2: 2, 3: 0.4 }, waterM3h: 0.02 },
};

/** State durations at demo speed (seconds): visible changes within minutes. */
const durationsSec: Record<MachineState, [number, number]> = { 1: [45, 180], 2: [10, 45], 3: [20, 90] };
/** Share of runs that end in a breakdown rather than a planned idle. */
const BREAKDOWN_SHARE = 0.25;

/** A machine's signals: state, counters, load and its kind's analog points. */
export class MachineModel {
  state: MachineState = MachineState.running;
  goodCount: number;
  rejectCount: number;
  /** Electrical load, kW, lagging its state's level. */
  loadKw: number;
  private remainingMs: number;
  private cycleElapsedMs = 0;
  private cycleMs: number;
  private lastCycleSec: number;
  private readonly rejectRate: number;
  private readonly events: Random;
  private readonly noise: Random;
  private readonly profile: KindProfile;
  /** Lagged process variables by point name (before measurement noise). */
  private readonly process: Record<string, number> = {};
  /** Process variables as a sensor reports them: rounded, with measurement noise. */
  private measured: Record<string, number> = {};
  /** Per-machine set points (nominal spindle speed, barrel temperature, placement rate). */
  private readonly nominal: number;
  private speedFactor = 1;

  constructor(
    readonly equipment: OpcuaEquipment,
    seed: number,
  ) {
    this.events = mulberry32(seed);
    this.noise = mulberry32(seed ^ 0x5bd1e995);
    this.profile = profiles[equipment.kind];
    this.rejectRate = between(this.events, 0.01, 0.04);
    this.goodCount = Math.floor(between(this.events, 1000, 20_000));
    this.rejectCount = Math.round(this.goodCount * this.rejectRate);
    this.remainingMs = between(this.events, ...durationsSec[MachineState.running]) * 1000;
    this.cycleMs = this.drawCycleMs();
    this.lastCycleSec = this.cycleMs / 1000;
    this.loadKw = this.profile.loadKw[this.state];
    this.nominal = this.drawNominal();
    this.initialiseProcess();
  }

  get running(): boolean {
    return this.state === MachineState.running;
  }

  /** Parts per hour at the current real cycle time while running, else 0. */
  get partsPerHour(): number {
    return this.running ? 3600_000 / this.cycleMs : 0;
  }

  get waterM3h(): number {
    return this.running ? this.profile.waterM3h : 0;
  }

  step(dtMs: number): void {
    this.remainingMs -= dtMs;
    if (this.remainingMs <= 0) this.changeState();
    if (this.running) this.advanceCycle(dtMs);
    this.loadKw = lag(this.loadKw, this.profile.loadKw[this.state], dtMs, 2);
    this.stepProcess(dtMs);
    this.measure();
  }

  /** Values of the OPC UA points of this machine (see `opcuaPointsOf`); reading them draws nothing. */
  values(): Record<string, number> {
    return {
      state: this.state,
      'good-count': this.goodCount,
      'reject-count': this.rejectCount,
      'ideal-cycle-time': this.equipment.idealCycleTimeSec,
      ...this.measured,
      ...(this.equipment.kind === 'injection-moulding' ? { 'cycle-time': round(this.lastCycleSec, 2) } : {}),
    };
  }

  private changeState(): void {
    if (this.state === MachineState.running) {
      this.state = this.events() < BREAKDOWN_SHARE ? MachineState.down : MachineState.idle;
    } else {
      this.state = MachineState.running;
    }
    this.remainingMs = between(this.events, ...durationsSec[this.state]) * 1000;
  }

  /** Real cycles run 4–20 % slower than ideal, so OEE performance stays below 1. */
  private drawCycleMs(): number {
    return this.equipment.idealCycleTimeSec * 1000 * between(this.events, 1.04, 1.2);
  }

  private advanceCycle(dtMs: number): void {
    this.cycleElapsedMs += dtMs;
    if (this.cycleElapsedMs < this.cycleMs) return;
    if (this.events() < this.rejectRate) this.rejectCount++;
    else this.goodCount++;
    this.cycleElapsedMs -= this.cycleMs;
    this.lastCycleSec = this.cycleMs / 1000;
    this.cycleMs = this.drawCycleMs();
    this.speedFactor = between(this.events, 0.9, 1.1);
  }

  private drawNominal(): number {
    switch (this.equipment.kind) {
      case 'cnc':
        return Math.round(between(this.events, 6000, 12_000));
      case 'injection-moulding':
        return Math.round(between(this.events, 210, 235));
      case 'smt-placement':
        return Math.round(between(this.events, 25_000, 40_000));
      case 'robot':
        return 0;
    }
  }

  /** Where each process variable heads in the current state, and how fast (time constant, s). */
  private targets(): Record<string, [target: number, tauSec: number]> {
    const running = this.running;
    switch (this.equipment.kind) {
      case 'cnc': {
        const speed = running ? this.nominal * this.speedFactor : 0;
        return {
          'spindle-speed': [speed, 1.5],
          'spindle-temp': [running ? 30 + speed / 500 : this.state === MachineState.idle ? 28 : 24, 60],
        };
      }
      case 'robot':
        return { power: [this.loadKw, 0.5], 'joint-temp': [26 + this.loadKw * 6, 90] };
      case 'injection-moulding':
        return {
          'barrel-temp': [this.state === MachineState.down ? 90 : this.nominal, 120],
          'mould-temp': [running ? 48 : this.state === MachineState.idle ? 40 : 26, 60],
        };
      case 'smt-placement':
        return {
          'placement-rate': [
            running ? (this.nominal * this.equipment.idealCycleTimeSec * 1000) / this.cycleMs : 0,
            2,
          ],
          'board-temp': [running ? 33 : this.state === MachineState.idle ? 28 : 25, 60],
        };
    }
  }

  private initialiseProcess(): void {
    for (const [name, [target]] of Object.entries(this.targets())) this.process[name] = target;
    this.measure();
  }

  private measure(): void {
    const measured: Record<string, number> = {};
    for (const [name, value] of Object.entries(this.process)) {
      const { sigma, decimals } = sensors[name] ?? { sigma: 0, decimals: 3 };
      // A stopped spindle or placement head reads exactly zero, not noise around it.
      measured[name] = value < 1e-3 ? 0 : round(Math.max(0, value + sigma * gaussian(this.noise)), decimals);
    }
    this.measured = measured;
  }

  private stepProcess(dtMs: number): void {
    for (const [name, [target, tauSec]] of Object.entries(this.targets())) {
      this.process[name] = lag(this.process[name] ?? target, target, dtMs, tauSec);
    }
  }
}

/** Measurement noise (standard deviation) and resolution of each analog point. */
const sensors: Record<string, { sigma: number; decimals: number }> = {
  'spindle-speed': { sigma: 12, decimals: 0 },
  'spindle-temp': { sigma: 0.08, decimals: 2 },
  'joint-temp': { sigma: 0.1, decimals: 2 },
  power: { sigma: 0.03, decimals: 3 },
  'barrel-temp': { sigma: 0.3, decimals: 1 },
  'mould-temp': { sigma: 0.15, decimals: 1 },
  'placement-rate': { sigma: 150, decimals: 0 },
  'board-temp': { sigma: 0.1, decimals: 2 },
};

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** An energy meter: base load plus the machines it feeds; energy integrates power. */
class EnergyMeterModel {
  energyKwh: number;
  powerKw: number;
  voltage = 400;
  private readonly noise: Random;

  constructor(
    private readonly machines: readonly MachineModel[],
    private readonly baseLoadKw: number,
    seed: number,
  ) {
    this.noise = mulberry32(seed);
    this.energyKwh = Math.round(between(this.noise, 50_000, 500_000));
    this.powerKw = this.demandKw();
  }

  step(dtMs: number): void {
    this.powerKw = Math.max(0, this.demandKw() + 0.02 * this.baseLoadKw * gaussian(this.noise));
    this.energyKwh += (this.powerKw * dtMs) / MS_PER_HOUR;
    this.voltage = lag(this.voltage, 400, dtMs, 30) + 0.4 * gaussian(this.noise);
  }

  values(): Record<string, number> {
    const rated =
      this.baseLoadKw + this.machines.reduce((sum, m) => sum + profiles[m.equipment.kind].loadKw[1], 0);
    // Lightly loaded motors run at a poorer power factor.
    const powerFactor = 0.78 + 0.17 * Math.min(1, this.powerKw / rated);
    return {
      'energy-total': this.energyKwh,
      power: this.powerKw,
      voltage: this.voltage,
      current: (this.powerKw * 1000) / (Math.sqrt(3) * this.voltage * powerFactor),
      'power-factor': powerFactor,
    };
  }

  private demandKw(): number {
    return this.baseLoadKw + this.machines.reduce((sum, m) => sum + m.loadKw, 0);
  }
}

/** The site water meter: base consumption plus the running machines' cooling water. */
class WaterMeterModel {
  volumeM3: number;
  flowM3h: number;
  private readonly noise: Random;

  constructor(
    private readonly machines: readonly MachineModel[],
    seed: number,
  ) {
    this.noise = mulberry32(seed);
    this.volumeM3 = Math.round(between(this.noise, 5_000, 50_000));
    this.flowM3h = this.demandM3h();
  }

  step(dtMs: number): void {
    this.flowM3h = Math.max(0, lag(this.flowM3h, this.demandM3h(), dtMs, 5) + 0.005 * gaussian(this.noise));
    this.volumeM3 += (this.flowM3h * dtMs) / MS_PER_HOUR;
  }

  values(): Record<string, number> {
    return { 'volume-total': this.volumeM3, flow: this.flowM3h };
  }

  private demandM3h(): number {
    return 0.3 + this.machines.reduce((sum, m) => sum + m.waterM3h, 0);
  }
}

/**
 * A line PLC: sums its line's counters; the line runs while any machine runs. Its speed set point
 * (the one register an operator may write) starts at the line's ideal rate, rounded to 10 parts per
 * hour, and caps the reported line speed.
 */
class LinePlcModel {
  setpoint: number;

  constructor(private readonly machines: readonly MachineModel[]) {
    const ideal = machines.reduce((sum, m) => sum + 3600 / m.equipment.idealCycleTimeSec, 0);
    this.setpoint = Math.min(LINE_SETPOINT_MAX, Math.round(ideal / 10) * 10);
  }

  step(): void {}

  values(): Record<string, number> {
    const machines = this.machines;
    const state = machines.some((m) => m.running)
      ? MachineState.running
      : machines.some((m) => m.state === MachineState.down)
        ? MachineState.down
        : MachineState.idle;
    const speed = Math.round(machines.reduce((sum, m) => sum + m.partsPerHour, 0));
    return {
      'good-count': machines.reduce((sum, m) => sum + m.goodCount, 0),
      'reject-count': machines.reduce((sum, m) => sum + m.rejectCount, 0),
      state,
      speed: Math.min(speed, this.setpoint),
      'speed-setpoint': this.setpoint,
    };
  }

  write(name: string, value: number): boolean {
    if (name !== 'speed-setpoint' || !Number.isInteger(value) || value < 0 || value > LINE_SETPOINT_MAX)
      return false;
    this.setpoint = value;
    return true;
  }
}

/** Highest line speed set point, parts per hour (the register map declares the same range). */
export const LINE_SETPOINT_MAX = 3600;

type ModbusModel = {
  step(dtMs: number): void;
  values(): Record<string, number>;
  /** Sets a writable value; false when the name is not writable or the value is out of its range. */
  write?(name: string, value: number): boolean;
};

export interface SiteModelOptions {
  /** Model time of the first tick, ms. */
  startMs: number;
  /** Mixed into every machine's and meter's seed; default `jjj-iiot`. */
  seed?: string;
}

/** Lighting, HVAC and compressed air of a whole site; a line sub-meter sees its share. */
const SITE_BASE_LOAD_KW = 12;
const LINE_BASE_LOAD_KW = 1.5;

/** Every signal of one site, advanced in `TICK_MS` steps. */
export class SiteModel {
  private time: number;
  private readonly machines = new Map<string, MachineModel>();
  private readonly modbus = new Map<number, ModbusModel>();
  private readonly listeners = new Set<(timeMs: number) => void>();

  constructor(
    readonly site: Site,
    options: SiteModelOptions,
  ) {
    this.time = options.startMs;
    const seed = options.seed ?? 'jjj-iiot';
    const seedOf = (id: string) => hashSeed(`${seed}/${site.id}/${id}`);
    for (const equipment of opcuaEquipmentOf(site)) {
      this.machines.set(equipment.id, new MachineModel(equipment, seedOf(equipment.id)));
    }
    for (const device of modbusDevicesOf(site)) {
      this.modbus.set(device.unitId, this.modbusModel(device, seedOf(device.id)));
    }
  }

  get timeMs(): number {
    return this.time;
  }

  /** Steps whole ticks up to `timeMs`; listeners hear about it when at least one tick ran. */
  advanceTo(timeMs: number): void {
    const ticks = Math.floor((timeMs - this.time) / TICK_MS);
    if (ticks <= 0) return;
    for (let i = 0; i < ticks; i++) {
      for (const machine of this.machines.values()) machine.step(TICK_MS);
      for (const device of this.modbus.values()) device.step(TICK_MS);
    }
    this.time += ticks * TICK_MS;
    for (const listener of this.listeners) listener(this.time);
  }

  /** Calls `listener` after every advance; returns the unsubscribe function. */
  onAdvance(listener: (timeMs: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  machine(equipmentId: string): MachineModel | undefined {
    return this.machines.get(equipmentId);
  }

  /** OPC UA point values of one machine, by point name. */
  equipmentValues(equipmentId: string): Record<string, number> | undefined {
    return this.machines.get(equipmentId)?.values();
  }

  /** Engineering values of one Modbus unit, by register map point name. */
  modbusValues(unitId: number): Record<string, number> | undefined {
    return this.modbus.get(unitId)?.values();
  }

  /** Writes a writable value of one Modbus unit (a line PLC's set point); false when refused. */
  writeModbus(unitId: number, name: string, value: number): boolean {
    return this.modbus.get(unitId)?.write?.(name, value) ?? false;
  }

  private modbusModel(device: PlacedModbusDevice, seed: number): ModbusModel {
    const scope = scopeLineOf(this.site, device);
    const fed = [...this.machines.values()].filter((m) => scope === undefined || this.lineOf(m) === scope);
    switch (device.kind) {
      case 'energy-meter':
        return new EnergyMeterModel(fed, scope === undefined ? SITE_BASE_LOAD_KW : LINE_BASE_LOAD_KW, seed);
      case 'water-meter':
        return new WaterMeterModel(fed, seed);
      case 'line-plc':
        return new LinePlcModel(fed);
    }
  }

  private lineOf(machine: MachineModel): string | undefined {
    return this.site.lines.find((line) => line.equipment.some((e) => e.id === machine.equipment.id))?.id;
  }
}
