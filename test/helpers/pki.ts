/** A private PKI made with openssl for one test file: CAs, and certificates they sign. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  file(name: string): string;
  read(name: string): Buffer;
  /** A self-signed CA: `<name>.pem` and `<name>.key`. */
  makeCa(name: string): void;
  /** A certificate signed by `ca`, with optional extensions (e.g. `subjectAltName = IP:127.0.0.1`). */
  makeSigned(name: string, ca: string, extensions?: string): void;
  remove(): void;
}

const openssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { stdio: 'pipe' });

export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-pki-'));
  // Mosquitto started as root drops to its own user, which must be able to read these.
  chmodSync(dir, 0o755);
  const file = (name: string) => join(dir, name);
  const readable = () => {
    for (const name of readdirSync(dir)) chmodSync(file(name), 0o644);
  };
  return {
    dir,
    file,
    read: (name) => readFileSync(file(name)),
    makeCa(name) {
      openssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        file(`${name}.key`),
        '-out',
        file(`${name}.pem`),
      );
      readable();
    },
    makeSigned(name, ca, extensions) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        file(`${name}.key`),
        '-out',
        file(`${name}.csr`),
      );
      if (extensions) writeFileSync(file(`${name}.ext`), extensions);
      openssl(
        'x509',
        '-req',
        '-in',
        file(`${name}.csr`),
        '-CA',
        file(`${ca}.pem`),
        '-CAkey',
        file(`${ca}.key`),
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        file(`${name}.pem`),
        ...(extensions ? ['-extfile', file(`${name}.ext`)] : []),
      );
      readable();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
