import { describe, expect, it } from 'vitest';
import { sites } from '../../seeds/catalogue.js';
import { planSimulation, SimulateUsageError } from '../../seeds/simulate.js';

describe('simulate command line', () => {
  it('runs one site on its conventional ports', () => {
    const plan = planSimulation(['--site', 'tj-binhai-smt']);
    expect(plan.sites.map(({ site, ports }) => [site.id, ports])).toEqual([
      ['tj-binhai-smt', { opcuaPort: 4844, modbusPort: 5024 }],
    ]);
  });

  it('runs several sites, or all of them, once each', () => {
    expect(
      planSimulation(['--site', 'bj-etown-cnc', '--site', 'he-baoding-gear', '--site', 'bj-etown-cnc']).sites,
    ).toHaveLength(2);
    expect(planSimulation(['--all']).sites.map((s) => s.site.id)).toEqual(sites.map((s) => s.id));
  });

  it('overrides the ports of a single site', () => {
    const plan = planSimulation([
      '--site',
      'bj-etown-cnc',
      '--opcua-port',
      '14841',
      '--modbus-port',
      '15021',
    ]);
    expect(plan.sites[0]?.ports).toEqual({ opcuaPort: 14841, modbusPort: 15021 });
  });

  it('answers usage errors (exit 2) that say what is wrong', () => {
    const usage = (argv: string[]) => {
      try {
        planSimulation(argv);
      } catch (error) {
        expect(error).toBeInstanceOf(SimulateUsageError);
        expect((error as SimulateUsageError).exitCode).toBe(2);
        return (error as Error).message;
      }
      throw new Error(`accepted ${argv.join(' ')}`);
    };
    expect(usage(['--site', 'bj-nowhere'])).toMatch(/unknown site bj-nowhere; known sites: bj-etown-cnc, /);
    expect(usage([])).toMatch(/--site ID, or use --all/);
    expect(usage(['--all', '--opcua-port', '4900'])).toMatch(/single --site/);
    expect(usage(['--site', 'bj-etown-cnc', '--modbus-port', 'x'])).toMatch(/port number/);
    expect(usage(['--colour'])).toMatch(/colour/);
  });

  it('asks for help without sites', () => {
    expect(planSimulation(['--help'])).toEqual({ help: true, host: '127.0.0.1', sites: [] });
  });
});
