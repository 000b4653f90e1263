/**
 * Why an MQTT connection failed, in words, for both programs: the broker's CONNACK refusals (3.1.1
 * and 5 codes), an untrusted broker certificate, a refused client certificate, an unreachable broker.
 */
import { redactCredentials } from './redact.js';

const untrustedBrokerCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Says in words why a connection failed, for the one log line an operator reads; never with a password. */
export function connectionFailureReason(error: Error & { code?: unknown }): string {
  return redactCredentials(failureInWords(error));
}

function failureInWords(error: Error & { code?: unknown }): string {
  const { code, message } = error;
  if (code === 4 || code === 134) return 'bad username or password';
  if (code === 5 || code === 135) return 'not authorized';
  if (code === 1 || code === 132) return 'the broker does not support this MQTT version';
  if (typeof code === 'string' && untrustedBrokerCodes.has(code)) {
    return `the broker's certificate is not trusted (${code})`;
  }
  if (
    /alert (unknown ca|bad certificate|certificate required|certificate unknown)|ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED/i.test(
      `${message} ${String(code)}`,
    )
  ) {
    return `broker refused the client certificate (${message.trim()})`;
  }
  if (code === 'ECONNREFUSED') return 'broker unreachable (connection refused)';
  return message;
}

/** CONNACK refusals that a retry meets again: version, client id, credentials, authorisation (3.1.1 and 5). */
const refusedForGood = new Set<unknown>([1, 2, 4, 5, 132, 133, 134, 135]);

/**
 * Failures that retrying does not cure (credentials, authorisation, protocol version, certificates):
 * a collector that meets one at start stops with it instead of retrying forever.
 */
export function isPermanentFailure(error: Error & { code?: unknown }): boolean {
  if (refusedForGood.has(error.code)) return true;
  const reason = failureInWords(error);
  return reason.includes('certificate');
}
