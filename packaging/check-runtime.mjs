/**
 * Run by the release's own Node.js from the release folder, at release time and again by install.sh
 * on the edge box, before anything is switched: the Node.js version is the one package.json's
 * `engines` asks for, and both native modules load into it (a wrong architecture, a Node.js of another
 * ABI or a missing system library fails here, not at the gateway's first start).
 *
 *   node/bin/node check-runtime.mjs
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const releaseRequire = createRequire(new URL('./package.json', import.meta.url));
const releasePackage = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

function fail(message) {
  process.stderr.write(`check-runtime: ${message}\n`);
  process.exit(1);
}

const wanted = /^>=(\d+)\.(\d+)$/.exec(releasePackage.engines?.node ?? '');
if (!wanted)
  fail(`package.json engines.node must read ">=MAJOR.MINOR", not "${releasePackage.engines?.node}"`);
const [major, minor] = process.versions.node.split('.').map(Number);
const [wantedMajor, wantedMinor] = [Number(wanted[1]), Number(wanted[2])];
if (major < wantedMajor || (major === wantedMajor && minor < wantedMinor)) {
  fail(`Node.js ${process.versions.node} is older than ${releasePackage.engines.node}`);
}

try {
  const Database = releaseRequire('better-sqlite3');
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)');
  db.close();
} catch (error) {
  fail(`better-sqlite3 does not load into Node.js ${process.version} (${process.arch}): ${error.message}`);
}

try {
  // The binding modbus-serial's RTU transport opens serial ports with; loading it picks the prebuild.
  const { autoDetect } = releaseRequire('@serialport/bindings-cpp');
  autoDetect();
} catch (error) {
  fail(
    `the serial-port binding does not load into Node.js ${process.version} (${process.arch}): ${error.message}`,
  );
}

process.stdout.write(
  `jjj-gateway ${releasePackage.version}: Node.js ${process.versions.node} (${process.platform}-${process.arch}, ABI ${process.versions.modules}), native modules load\n`,
);
