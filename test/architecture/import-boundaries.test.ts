/** The import rules of ARCHITECTURE.md are Biome rules in biome.json; these cases prove they bite. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const biome = join(root, 'node_modules/.bin/biome');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jjj-imports-'));
  const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8'));
  delete config.$schema;
  config.vcs = { enabled: false };
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Lints one file holding `import` of `specifier`; true when an import boundary refused it. */
async function refused(file: string, specifier: string): Promise<boolean> {
  const path = join(dir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `import '${specifier}';\n`);
  const { stdout, stderr } = await promisify(execFile)(biome, ['lint', '--max-diagnostics=5', file], {
    cwd: dir,
  }).catch((error: { stdout: string; stderr: string }) => error);
  return `${stdout}${stderr}`.includes('noRestrictedImports');
}

describe('import boundaries', () => {
  it.each([
    ['cloud/probe.ts', '../gateway/config.js'],
    ['cloud/store/probe.ts', '../../gateway/outbox/outbox.js'],
    ['cloud/probe.ts', '../adapters/modbus/index.js'],
    ['adapters/modbus/probe.ts', '../../gateway/config.js'],
    ['adapters/modbus/probe.ts', '../../cloud/ingest.js'],
    ['gateway/probe.ts', '../cloud/collector.js'],
    ['gateway/outbox/probe.ts', '../../seeds/catalogue.js'],
    ['gateway/schema/probe.ts', '../config.js'],
    ['gateway/schema/sparkplug/probe.ts', '../../mqtt-link.js'],
    ['gateway/common/probe.ts', '../schema/index.js'],
    ['cloud/console/src/probe.ts', '../../store/store.js'],
    ['cloud/console/src/components/probe.ts', '../../../../gateway/schema/index.js'],
  ])('refuses %s importing %s', async (file, specifier) => {
    expect(await refused(file, specifier)).toBe(true);
  });

  it.each([
    ['cloud/probe.ts', '../gateway/schema/index.js'],
    ['cloud/store/probe.ts', '../../gateway/common/errors.js'],
    ['adapters/modbus/probe.ts', '../../gateway/schema/index.js'],
    ['adapters/modbus/probe.ts', '../contract.js'],
    ['gateway/probe.ts', '../adapters/registry.js'],
    ['gateway/schema/sparkplug/probe.ts', '../index.js'],
    ['gateway/common/probe.ts', './errors.js'],
    ['cloud/console/src/components/probe.ts', '../live.js'],
    ['cloud/console/src/probe.ts', 'vue'],
  ])('allows %s importing %s', async (file, specifier) => {
    expect(await refused(file, specifier)).toBe(false);
  });
});
