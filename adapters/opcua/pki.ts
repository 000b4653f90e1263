/**
 * The gateway's OPC UA PKI: one folder per gateway (`<gateway stateDir>/opcua-pki`), shared by all its
 * OPC UA devices. Its own application certificate is made once, on first use, behind one promise per
 * folder so devices starting together do not race to create it. Unknown server certificates land in
 * `rejected/` and are refused until trusted (`jjj-gateway certificates … trust FINGERPRINT`).
 */
import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { OPCUAClient } from 'node-opcua-client';

/** The PKI folder of a gateway, given its state folder. */
export function gatewayPkiDir(gatewayStateDir: string): string {
  return join(gatewayStateDir, 'opcua-pki');
}

/** The PKI folder from a device's state folder, which the gateway places at `<stateDir>/devices/<id>`. */
export function pkiDirOfDeviceStateDir(deviceStateDir: string): string {
  return gatewayPkiDir(resolve(deviceStateDir, '..', '..'));
}

interface SharedManager {
  manager: OPCUACertificateManager;
  users: number;
  ready: Promise<void>;
}

const shared = new Map<string, SharedManager>();

/**
 * The certificate manager of `pkiDir`, initialised (with the gateway's own certificate unless
 * `ownCertificate` is false, as for the trust-list command); call `releaseCertificateManager` when done.
 */
export async function acquireCertificateManager(
  pkiDir: string,
  ownCertificate = true,
): Promise<OPCUACertificateManager> {
  const rootFolder = resolve(pkiDir);
  let entry = shared.get(rootFolder);
  if (!entry) {
    const manager = new OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: false });
    entry = {
      manager,
      users: 0,
      ready: ownCertificate ? createOwnCertificate(manager) : manager.initialize(),
    };
    shared.set(rootFolder, entry);
  }
  entry.users++;
  try {
    await entry.ready;
  } catch (error) {
    await releaseCertificateManager(entry.manager);
    throw error;
  }
  return entry.manager;
}

export async function releaseCertificateManager(manager: OPCUACertificateManager): Promise<void> {
  for (const [folder, entry] of shared) {
    if (entry.manager !== manager) continue;
    if (--entry.users > 0) return;
    shared.delete(folder);
    await manager.dispose();
    return;
  }
}

async function createOwnCertificate(manager: OPCUACertificateManager): Promise<void> {
  await manager.initialize();
  const client = OPCUAClient.create({ applicationName: 'jjj-gateway', clientCertificateManager: manager });
  await client.createDefaultCertificate();
}

export interface CertificateEntry {
  /** SHA-1 fingerprint, lower-case hex without separators (what `trust` takes). */
  fingerprint: string;
  state: 'trusted' | 'rejected';
  subject: string;
  subjectAltName: string;
  validTo: string;
  file: string;
}

/** Server certificates the PKI has seen: trusted ones and rejected (unknown) ones. */
export async function listCertificates(manager: OPCUACertificateManager): Promise<CertificateEntry[]> {
  const entries: CertificateEntry[] = [];
  for (const [state, folder] of [
    ['trusted', manager.trustedFolder],
    ['rejected', manager.rejectedFolder],
  ] as const) {
    const names = await readdir(folder).catch(() => []);
    for (const name of names.sort()) {
      const file = join(folder, name);
      const certificate = await readCertificateFile(file).catch(() => undefined);
      if (!certificate) continue;
      entries.push({
        fingerprint: fingerprintOf(certificate),
        state,
        subject: certificate.subject.replaceAll('\n', ', '),
        subjectAltName: certificate.subjectAltName ?? '',
        validTo: new Date(certificate.validTo).toISOString(),
        file,
      });
    }
  }
  return entries;
}

export class UnknownCertificateError extends Error {
  readonly code = 'OPCUA_UNKNOWN_CERTIFICATE';
}

/** Moves a certificate (by fingerprint, or a unique prefix of it) to the trusted list. */
export async function trustCertificate(
  manager: OPCUACertificateManager,
  fingerprint: string,
): Promise<CertificateEntry> {
  const wanted = fingerprint.toLowerCase().replaceAll(':', '');
  const matches = (await listCertificates(manager)).filter((entry) => entry.fingerprint.startsWith(wanted));
  const [match] = matches;
  if (!match || matches.length > 1 || wanted.length < 8) {
    throw new UnknownCertificateError(
      matches.length > 1
        ? `fingerprint ${fingerprint} is ambiguous: give more digits`
        : `no certificate with fingerprint ${fingerprint} in ${manager.rootDir} (see the list command)`,
    );
  }
  if (match.state === 'rejected') {
    const certificate = await readCertificateFile(match.file);
    await manager.trustCertificate(certificate.raw);
  }
  return { ...match, state: 'trusted' };
}

export function fingerprintOf(certificate: X509Certificate): string {
  return certificate.fingerprint.replaceAll(':', '').toLowerCase();
}

async function readCertificateFile(file: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(file));
}
