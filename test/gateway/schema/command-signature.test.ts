import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  commandPrivateKey,
  commandPublicKey,
  commandSigningBytes,
  signCommand,
  verifyCommandSignature,
} from '../../../gateway/schema/command-signature.js';
import type { UnsignedCommand } from '../../../gateway/schema/commands.js';

const cloud = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const trusted = new Map([['cloud-1', cloud.publicKey]]);

const command: UnsignedCommand = {
  schema: 'jjj.command/2',
  id: 'c-1',
  target: { region: 'BJ', site: 'bj-etown-cnc', gateway: 'gw-bj-etown-cnc' },
  ts: 1_764_000_000_000,
  expiresTs: 1_764_000_030_000,
  by: 'operator@plant',
  writes: [{ line: 'machining', equipment: 'cnc-01', point: 'setpoint', value: 5 }],
};

describe('canonicalJson', () => {
  it('sorts object keys at every level, keeps array order, drops undefined members, adds no white space', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, é: 'x' })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"é":"x"}',
    );
  });

  it('gives the same bytes whatever order the sender wrote the keys in', () => {
    const reordered = Object.fromEntries(Object.entries(command).reverse()) as UnsignedCommand;
    expect(commandSigningBytes(reordered).equals(commandSigningBytes(command))).toBe(true);
  });
});

describe('command signatures', () => {
  it('verifies a signature by a trusted key, whatever the key order on the wire', () => {
    const signed = signCommand(command, 'cloud-1', cloud.privateKey);
    const reparsed = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(signed).reverse())));
    expect(verifyCommandSignature(reparsed, trusted)).toEqual({ ok: true, keyId: 'cloud-1' });
  });

  it.each([
    ['a write value', (c: UnsignedCommand) => ({ ...c, writes: [{ ...c.writes[0], value: 6 }] })],
    ['the target', (c: UnsignedCommand) => ({ ...c, target: { ...c.target, gateway: 'gw-other' } })],
    ['the expiry', (c: UnsignedCommand) => ({ ...c, expiresTs: c.expiresTs + 1 })],
    ['the user', (c: UnsignedCommand) => ({ ...c, by: 'admin' })],
    ['an added member', (c: UnsignedCommand) => ({ ...c, note: 'x' })],
  ])('refuses a command whose %s was changed after signing', (_what, tamper) => {
    const signed = signCommand(command, 'cloud-1', cloud.privateKey);
    const tampered = { ...tamper(command), signature: signed.signature } as Parameters<
      typeof verifyCommandSignature
    >[0];
    expect(verifyCommandSignature(tampered, trusted)).toEqual({
      ok: false,
      reason: 'the signature does not match the command (altered, or signed by another key)',
    });
  });

  it('refuses a signature by another key under a trusted key id, and a key id it does not trust', () => {
    expect(verifyCommandSignature(signCommand(command, 'cloud-1', other.privateKey), trusted).ok).toBe(false);
    expect(verifyCommandSignature(signCommand(command, 'rogue', other.privateKey), trusted)).toEqual({
      ok: false,
      reason: 'signed by key "rogue", which this gateway does not trust',
    });
  });

  it('reads Ed25519 keys from PEM and refuses other key types', () => {
    const pem = cloud.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(commandPublicKey(pem).asymmetricKeyType).toBe('ed25519');
    const privatePem = cloud.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(commandPrivateKey(privatePem).asymmetricKeyType).toBe('ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => commandPublicKey(ec.publicKey.export({ type: 'spki', format: 'pem' }).toString())).toThrow(
      'expected an Ed25519 public key, got ec',
    );
    expect(() => commandPublicKey('not a key')).toThrow();
  });
});
