/** `jjj-gateway certificates --config FILE [list | trust FINGERPRINT]`: the gateway's OPC UA trust list. */
import { AdapterUsageError } from '../contract.js';
import {
  acquireCertificateManager,
  type CertificateEntry,
  gatewayPkiDir,
  listCertificates,
  releaseCertificateManager,
  trustCertificate,
} from './pki.js';

/** Runs the sub-command against the PKI of the gateway whose state folder is given; returns the lines to print. */
export async function certificatesCommand(
  gatewayStateDir: string,
  args: readonly string[],
): Promise<string[]> {
  const [action = 'list', ...rest] = args;
  if (
    !['list', 'trust'].includes(action) ||
    (action === 'list' && rest.length > 0) ||
    (action === 'trust' && rest.length !== 1)
  ) {
    throw new AdapterUsageError('certificates: expected "list" or "trust FINGERPRINT"');
  }
  const pkiDir = gatewayPkiDir(gatewayStateDir);
  const manager = await acquireCertificateManager(pkiDir, false);
  try {
    if (action === 'trust') {
      const entry = await trustCertificate(manager, rest[0] ?? '');
      return [`trusted ${entry.fingerprint} ${entry.subject}`];
    }
    const entries = await listCertificates(manager);
    if (entries.length === 0) return [`no server certificates in ${pkiDir} yet`];
    return entries.map(format);
  } finally {
    await releaseCertificateManager(manager);
  }
}

function format(entry: CertificateEntry): string {
  return [
    entry.state.padEnd(8),
    entry.fingerprint,
    entry.validTo.slice(0, 10),
    entry.subject,
    entry.subjectAltName,
  ]
    .filter(Boolean)
    .join('  ');
}
