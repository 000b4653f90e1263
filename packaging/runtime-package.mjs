/**
 * Writes the release's package.json: the repository's, cut to the packages the built gateway imports
 * (found in the compiled code, so the list never drifts from the source), at the release's version.
 * `npm prune --omit=dev` against it then drops the collector's packages (fastify, InfluxDB, the
 * console) and every tool.
 *
 *   node packaging/runtime-package.mjs REPO_PACKAGE_JSON VERSION OUT_PACKAGE_JSON DIST_DIR...
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const [repoPackageFile, version, outFile, ...distDirs] = process.argv.slice(2);
if (!repoPackageFile || !version || !outFile || distDirs.length === 0) {
  process.stderr.write('usage: runtime-package.mjs REPO_PACKAGE_JSON VERSION OUT_PACKAGE_JSON DIST_DIR...\n');
  process.exit(2);
}

/** `import … from 'x'`, `export … from 'x'` and `import('x')` of a package (not a relative path). */
const importPattern = /(?:\bfrom|\bimport\s*\()\s*['"]([^'"./][^'"]*)['"]/g;

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function importedPackages(dir) {
  const names = new Set();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const code = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const [, specifier] of code.matchAll(importPattern)) {
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      names.add(packageName(specifier));
    }
  }
  return names;
}

const repoPackage = JSON.parse(readFileSync(repoPackageFile, 'utf8'));
const needed = [...new Set(distDirs.flatMap((dir) => [...importedPackages(dir)]))].sort();
const undeclared = needed.filter((name) => !repoPackage.dependencies?.[name]);
if (undeclared.length > 0) {
  process.stderr.write(`the gateway imports packages package.json does not list: ${undeclared.join(', ')}\n`);
  process.exit(1);
}

const releasePackage = {
  name: 'jjj-gateway',
  version,
  description: repoPackage.description,
  type: repoPackage.type,
  license: repoPackage.license,
  private: true,
  engines: repoPackage.engines,
  dependencies: Object.fromEntries(needed.map((name) => [name, repoPackage.dependencies[name]])),
  allowScripts: repoPackage.allowScripts,
};
writeFileSync(outFile, `${JSON.stringify(releasePackage, null, 2)}\n`);
process.stdout.write(`${needed.length} runtime packages: ${needed.join(', ')}\n`);
