/**
 * Settings that work but give security away. Each is said once at start, as one warning line, so
 * a lab shortcut left in a plant config is seen (IEC 62443: a conduit carries its credentials
 * encrypted and checks who is at the other end).
 */
import { redactCredentials } from './redact.js';

export interface ConnectionSettings {
  /** Where the setting lives in the config, for the warning (`mqtt`, `store`). */
  setting: string;
  url: string;
  /** A password or token sent to the server (besides one inside the URL). */
  secret?: string | undefined;
  tls?: { rejectUnauthorized: boolean } | undefined;
}

const plainSchemes = new Set(['mqtt:', 'tcp:', 'ws:', 'http:']);

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The warnings of one connection. `loopbackIsSafe`: a secret in clear to this machine is not flagged
 * (an InfluxDB next to the collector). The MQTT password is flagged even to loopback: a broker URL
 * is copied from host to host, and the warning says so before it leaves the machine.
 */
export function insecureConnectionWarnings(
  connection: ConnectionSettings,
  { loopbackIsSafe = false }: { loopbackIsSafe?: boolean } = {},
): string[] {
  const warnings: string[] = [];
  const { setting, url } = connection;
  if (connection.tls?.rejectUnauthorized === false) {
    warnings.push(
      `${setting}.tls.rejectUnauthorized is false: the server's certificate is not checked, so anyone on the path can pose as ${redactCredentials(url)}`,
    );
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    return warnings;
  }
  const hasSecret = (connection.secret ?? '') !== '' || parsed.password !== '';
  if (hasSecret && plainSchemes.has(parsed.protocol) && !(loopbackIsSafe && isLoopback(parsed.hostname))) {
    warnings.push(
      `${setting}: a password or token goes unencrypted over ${parsed.protocol}// to ${parsed.host}; anyone on the network can read it (use ${parsed.protocol === 'http:' ? 'https://' : 'mqtts:// or wss://'})`,
    );
  }
  return warnings;
}
