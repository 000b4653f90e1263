/** The collector's Ed25519 command-signing key pair: made by `jjj-collector keygen` (or the demo). */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandPrivateKey } from '../../gateway/schema/command-signature.js';

export const PRIVATE_KEY_FILE = 'command-signing-key.pem';
export const PUBLIC_KEY_FILE = 'command-signing-key.pub.pem';

export interface SigningKeyFiles {
  privateKeyFile: string;
  publicKeyFile: string;
  publicKeyPem: string;
}

/** Writes a new key pair into `dir` (the private key readable by its owner only); refuses to overwrite one. */
export function writeSigningKeyPair(dir: string): SigningKeyFiles {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyFile = join(dir, PRIVATE_KEY_FILE);
  const publicKeyFile = join(dir, PUBLIC_KEY_FILE);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // `wx`: an existing key is never replaced by accident (every gateway trusting it would stop obeying).
  writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    flag: 'wx',
    mode: 0o600,
  });
  writeFileSync(publicKeyFile, publicKeyPem, { flag: 'wx' });
  return { privateKeyFile, publicKeyFile, publicKeyPem };
}

/** The key pair in `dir`, made on first use (for the demo, whose data dir keeps it across runs). */
export function signingKeyPairIn(dir: string): SigningKeyFiles {
  const privateKeyFile = join(dir, PRIVATE_KEY_FILE);
  const publicKeyFile = join(dir, PUBLIC_KEY_FILE);
  if (!existsSync(privateKeyFile)) return writeSigningKeyPair(dir);
  commandPrivateKey(readFileSync(privateKeyFile, 'utf8'));
  return { privateKeyFile, publicKeyFile, publicKeyPem: readFileSync(publicKeyFile, 'utf8') };
}

/** The block to paste into each gateway's config so it trusts this key. */
export function trustedKeyYaml(keyId: string, publicKeyPem: string): string {
  const pem = publicKeyPem
    .trim()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return `commands:\n  trustedKeys:\n    - id: ${keyId}\n      publicKey: |\n${pem}\n`;
}
