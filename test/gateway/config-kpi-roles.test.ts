/**
 * KPI roles in the gateway config: every protocol's point takes a `kpi` role, and the checks that
 * span points refuse, with `path: reason`, what the KPIs could not make sense of. The worked
 * examples of docs/kpi-roles.md are valid configs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../gateway/common/errors.js';
import { parseGatewayConfig } from '../../gateway/config.js';

type Point = Record<string, unknown>;

/** A machine read over OPC UA and a PLC read over Modbus, both on equipment press-01. */
function config(opcuaPoints: Point[], modbusPoints: Point[] = []) {
  return {
    gateway: {
      id: 'gw',
      region: 'HE',
      project: 'jjj-dp-03',
      site: 'he-roles',
      siteName: { zh: '角色', en: 'Roles' },
      stateDir: 'state',
    },
    devices: [
      {
        protocol: 'opcua',
        id: 'press-01',
        line: 'pressing',
        endpoint: 'opc.tcp://127.0.0.1:4841',
        points: opcuaPoints.map((point) => ({ nodeId: `ns=1;s=${point.name}`, ...point })),
      },
      ...(modbusPoints.length === 0
        ? []
        : [
            {
              protocol: 'modbus',
              id: 'press-plc',
              line: 'pressing',
              equipment: 'press-01',
              host: '127.0.0.1',
              points: modbusPoints.map((point, address) => ({ table: 'holding', address, ...point })),
            },
          ]),
    ],
  };
}

function problems(raw: unknown): string[] {
  try {
    parseGatewayConfig(raw, 'test.yaml', '/srv/gw');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('gateway config: KPI roles', () => {
  it('takes a role on the points of every protocol, with its defaults filled in', () => {
    const parsed = parseGatewayConfig(
      config(
        [
          {
            name: 'running',
            dataType: 'bool',
            kpi: { role: 'machine-state', values: { true: 'producing', false: 'idle' } },
          },
          { name: 'parts', dataType: 'uint32', kpi: { role: 'total-count', width: 32, idealCycleTimeS: 12 } },
        ],
        [{ name: 'scrap', type: 'uint16', kpi: { role: 'reject-count', width: 16 } }],
      ),
      'test.yaml',
      '/srv/gw',
    );
    const roles = parsed.devices.flatMap((device) => device.points.map((point) => point.kpi));
    expect(roles).toEqual([
      { role: 'machine-state', values: { true: 'producing', false: 'idle' } },
      { role: 'total-count', width: 32, reset: 'restart', idealCycleTimeS: 12 },
      { role: 'reject-count', width: 16, reset: 'restart' },
    ]);
  });

  it('names an unknown role or state by its path', () => {
    const found = problems(
      config([
        { name: 'state', kpi: { role: 'machine-state', values: { '1': 'running' } } },
        { name: 'parts', kpi: { role: 'parts' } },
      ]),
    );
    expect(found.join('\n')).toMatch(/^devices\[0\]\.points\[0\]\.kpi\.values\.1: /m);
    expect(found.join('\n')).toMatch(/^devices\[0\]\.points\[1\]\.kpi\.role: /m);
  });

  it('refuses a second state, ideal-cycle-time or unit-value point on one equipment, across devices', () => {
    const found = problems(
      config(
        [
          { name: 'state', kpi: { role: 'machine-state', values: { '1': 'producing' } } },
          { name: 'ideal', kpi: { role: 'ideal-cycle-time' } },
          { name: 'value', kpi: { role: 'unit-value' } },
        ],
        [
          { name: 'plc-state', type: 'uint16', kpi: { role: 'machine-state', values: { '1': 'producing' } } },
          { name: 'plc-ideal', type: 'float32', kpi: { role: 'ideal-cycle-time' } },
          { name: 'plc-value', type: 'float32', kpi: { role: 'unit-value' } },
        ],
      ),
    );
    expect(found).toEqual([
      'devices[1].points[0].kpi: equipment pressing/press-01 already has its machine-state point at devices[0].points[0]',
      'devices[1].points[1].kpi: equipment pressing/press-01 already has its ideal-cycle-time point at devices[0].points[1]',
      'devices[1].points[2].kpi: equipment pressing/press-01 already has its unit-value point at devices[0].points[2]',
    ]);
  });

  it('lets different equipment each have their own state point', () => {
    const raw = config([{ name: 'state', kpi: { role: 'machine-state', values: { '1': 'producing' } } }]);
    raw.devices.push({ ...(raw.devices[0] as (typeof raw.devices)[number]), id: 'press-02' });
    expect(problems(raw)).toEqual([]);
  });

  it('refuses count constants that disagree, or that a role point on the same equipment also gives', () => {
    const found = problems(
      config([
        { name: 'good', kpi: { role: 'good-count', idealCycleTimeS: 30, unitValue: 12 } },
        { name: 'total', kpi: { role: 'total-count', idealCycleTimeS: 32, unitValue: 12 } },
        { name: 'value', kpi: { role: 'unit-value' } },
      ]),
    );
    expect(found).toEqual([
      'devices[0].points[1].kpi.idealCycleTimeS: 32 differs from 30 at devices[0].points[0]: one equipment has one idealCycleTimeS',
      'devices[0].points[0].kpi.unitValue: equipment pressing/press-01 also has a unit-value point at devices[0].points[2]: keep one of the two',
    ]);
  });

  it('refuses a role on a point whose data type cannot carry it, where the type is known', () => {
    const found = problems(
      config(
        [
          { name: 'good', dataType: 'string', kpi: { role: 'good-count' } },
          { name: 'ideal', dataType: 'bool', kpi: { role: 'ideal-cycle-time' } },
          { name: 'untyped', kpi: { role: 'reject-count' } },
        ],
        [
          {
            name: 'running',
            table: 'coil',
            type: 'bool',
            kpi: { role: 'machine-state', values: { '1': 'producing', false: 'idle' } },
          },
          // A scaled register publishes decimals: a meter may sit on it.
          { name: 'energy', type: 'uint16', scale: 0.1, kpi: { role: 'energy' } },
        ],
      ),
    );
    expect(found).toEqual([
      'devices[0].points[0].kpi: the good-count role needs a number, not a string point',
      'devices[0].points[1].kpi: the ideal-cycle-time role needs a number, not a bool point',
      'devices[1].points[0].kpi.values.1: a bool point never reads "1": use "true" or "false"',
    ]);
  });

  it('reads a status word by bits from an integer or bool point only, and enum codes from integers', () => {
    const bits = { role: 'machine-state', bits: [{ bit: 2, state: 'down' }] };
    expect(problems(config([{ name: 'word', dataType: 'uint16', kpi: bits }]))).toEqual([]);
    expect(problems(config([{ name: 'word', dataType: 'bool', kpi: bits }]))).toEqual([]);
    expect(problems(config([{ name: 'word', dataType: 'float64', kpi: bits }]))).toEqual([
      'devices[0].points[0].kpi.bits: bits need an integer or bool point, not a float64 point',
    ]);
    // A scaled Modbus register publishes a float64.
    const scaled = config([{ name: 'speed' }], [{ name: 'word', type: 'uint16', scale: 2, kpi: bits }]);
    expect(problems(scaled)).toEqual([
      'devices[1].points[0].kpi.bits: bits need an integer or bool point, not a float64 point',
    ]);
    const codes = { role: 'machine-state', values: { '3': 'down', '-1': 'maintenance', RUN: 'producing' } };
    expect(problems(config([{ name: 'code', dataType: 'int16', kpi: codes }]))).toEqual([
      'devices[0].points[0].kpi.values.RUN: a int16 point never reads "RUN"',
    ]);
    expect(problems(config([{ name: 'code', dataType: 'string', kpi: codes }]))).toEqual([]);
  });
});

describe('docs/kpi-roles.md', () => {
  const text = readFileSync(new URL('../../docs/kpi-roles.md', import.meta.url), 'utf8');
  // Each `### ` section with a `devices:` block is one worked example.
  const examples = text.split(/^### /m).flatMap((section) => {
    const yaml = /```yaml\n(devices:\n[\s\S]*?)```/.exec(section)?.[1];
    return yaml === undefined ? [] : [{ title: section.split('\n')[0] as string, yaml }];
  });

  it('has the worked examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
  });

  it.each(examples)('example "$title" is a valid gateway config with roles', ({ yaml }) => {
    const { devices } = parse(yaml) as { devices: unknown[] };
    const raw = { ...config([]), devices };
    expect(problems(raw)).toEqual([]);
    const parsed = parseGatewayConfig(raw, 'docs.yaml', '/srv/gw');
    const points = parsed.devices.flatMap((device): { kpi?: unknown }[] => device.points);
    expect(points.every((point) => point.kpi !== undefined)).toBe(true);
  });
});
