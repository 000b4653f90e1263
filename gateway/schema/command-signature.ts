/**
 * Command signatures: Ed25519 over the canonical JSON of the command without its `signature` (object
 * keys sorted at every level, no white space), so signer and verifier need no agreement on key order
 * or formatting. The cloud holds the private key; each gateway's config lists the public keys it
 * trusts, by id.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { CommandMessage, UnsignedCommand } from './commands.js';

/** JSON with object keys sorted at every level: the same bytes for the same value, whoever wrote it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bytes a command's signature covers: everything but the signature itself. */
export function commandSigningBytes(command: UnsignedCommand | CommandMessage): Buffer {
  const { signature: _signature, ...signed } = command as CommandMessage;
  return Buffer.from(canonicalJson(signed), 'utf8');
}

export function signCommand(command: UnsignedCommand, keyId: string, privateKey: KeyObject): CommandMessage {
  const value = sign(null, commandSigningBytes(command), privateKey).toString('base64');
  return { ...command, signature: { alg: 'ed25519', keyId, value } };
}

export type SignatureCheck = { ok: true; keyId: string } | { ok: false; reason: string };

/** Checks the signature against the trusted public keys, by key id. */
export function verifyCommandSignature(
  command: CommandMessage,
  trustedKeys: ReadonlyMap<string, KeyObject>,
): SignatureCheck {
  const key = trustedKeys.get(command.signature.keyId);
  if (!key)
    return {
      ok: false,
      reason: `signed by key "${command.signature.keyId}", which this gateway does not trust`,
    };
  const signature = Buffer.from(command.signature.value, 'base64');
  return verify(null, commandSigningBytes(command), key, signature)
    ? { ok: true, keyId: command.signature.keyId }
    : { ok: false, reason: 'the signature does not match the command (altered, or signed by another key)' };
}

/** An Ed25519 public key from PEM (SPKI) text. */
export function commandPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`expected an Ed25519 public key, got ${key.asymmetricKeyType}`);
  return key;
}

/** An Ed25519 private key from PEM (PKCS#8) text. */
export function commandPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`expected an Ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}
