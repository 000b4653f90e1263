import { describe, expect, it } from 'vitest';
import { Identifier } from '../../gateway/schema/index.js';
import { Catalogue, catalogue, modbusDevicesOf, opcuaEquipmentOf, sites } from '../../seeds/catalogue.js';

describe('demonstration catalogue', () => {
  it('validates against its own schema', () => {
    expect(Catalogue.safeParse(catalogue).success).toBe(true);
  });

  it('rejects a site outside its region prefix or with a clashing unit id', () => {
    const [first] = catalogue.sites;
    if (!first) throw new Error('empty catalogue');
    const wrongRegion = { ...catalogue, sites: [{ ...first, region: 'TJ' }] };
    expect(Catalogue.safeParse(wrongRegion).error?.issues[0]?.message).toMatch(/must start with its region/);
    const clash = {
      ...catalogue,
      sites: [
        {
          ...first,
          lines: first.lines.map((line) => ({
            ...line,
            modbus: line.modbus.map((d) => ({ ...d, unitId: 1 })),
          })),
        },
      ],
    };
    expect(
      Catalogue.safeParse(clash)
        .error?.issues.map((i) => i.message)
        .join('\n'),
    ).toMatch(/duplicate Modbus unit id 1/);
  });

  it('covers at least two sites per region, every industry and both manufacturing modes', () => {
    expect(sites.length).toBeGreaterThanOrEqual(6);
    for (const region of ['BJ', 'TJ', 'HE']) {
      expect(sites.filter((s) => s.region === region).length).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(sites.map((s) => s.industry))).toEqual(
      new Set(['equipment-manufacturing', 'automotive', 'electronics']),
    );
    expect(new Set(sites.map((s) => s.mode))).toEqual(new Set(['smart-factory', 'digital-workshop']));
  });

  it('has cross-region projects with ids jjj-dp-NN', () => {
    for (const project of catalogue.projects) {
      expect(project.id).toMatch(/^jjj-dp-\d{2}$/);
      const regions = new Set(sites.filter((s) => s.project === project.id).map((s) => s.region));
      expect(regions.size).toBeGreaterThanOrEqual(2);
    }
  });

  it('starts with bj-etown-cnc as the conventions require', () => {
    const [site0] = sites;
    expect(site0).toMatchObject({
      id: 'bj-etown-cnc',
      region: 'BJ',
      project: 'jjj-dp-01',
      mode: 'digital-workshop',
    });
    if (!site0) return;
    expect(opcuaEquipmentOf(site0).map((e) => [e.line, e.id, e.kind])).toEqual([
      ['machining', 'cnc-01', 'cnc'],
      ['machining', 'cnc-02', 'cnc'],
    ]);
    const units = modbusDevicesOf(site0).map((d) => [d.unitId, d.id, d.kind, d.line]);
    expect(units.slice(0, 2)).toEqual([
      [1, 'meter-main', 'energy-meter', 'utilities'],
      [2, 'water-main', 'water-meter', 'utilities'],
    ]);
  });

  it('gives every site a main energy meter on unit 1, a water meter on unit 2 and Identifier ids', () => {
    for (const site of sites) {
      const devices = modbusDevicesOf(site);
      expect(devices[0]).toMatchObject({ unitId: 1, kind: 'energy-meter' });
      expect(devices[1]).toMatchObject({ unitId: 2, kind: 'water-meter' });
      for (const id of [site.id, ...site.lines.map((l) => l.id), ...devices.map((d) => d.id)]) {
        expect(Identifier.safeParse(id).success).toBe(true);
      }
      expect(opcuaEquipmentOf(site).length).toBeGreaterThan(0);
    }
  });
});
