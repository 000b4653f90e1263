/**
 * Who the gateway is to a server: the channel's message security, the session's user identity, and
 * what a refusal of either means for the person running the gateway.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  MessageSecurityMode,
  type OPCUAClientOptions,
  SecurityPolicy,
  type UserIdentityInfo,
  UserTokenType,
} from 'node-opcua-client';
import type { Security } from './config.js';

/** The client options of the configured message security (None when the device has no `security`). */
export function channelSecurityOf(
  security: Security | undefined,
): Pick<OPCUAClientOptions, 'securityMode' | 'securityPolicy'> {
  return {
    securityMode: MessageSecurityMode[security?.mode ?? 'None'],
    securityPolicy: SecurityPolicy[security?.policy ?? 'None'],
  };
}

/**
 * A user name and password over a channel without message security are protected at best by the
 * server's user-token policy, often not at all: said once at start, or undefined when the identity
 * is safe on this channel.
 */
export function insecureIdentityWarning(
  security: Security | undefined,
  endpoint: string,
): string | undefined {
  if (security?.user.type !== 'username' || security.mode !== 'None') return undefined;
  return (
    `security: user ${security.user.username} logs in to ${endpoint} over security mode None: ` +
    'the password is not protected on the network (use mode Sign or SignAndEncrypt)'
  );
}

/** The session's user identity from the config; passwords may come from the environment. */
export async function userIdentityOf(user: Security['user'] | undefined): Promise<UserIdentityInfo> {
  if (!user || user.type === 'anonymous') return { type: UserTokenType.Anonymous };
  if (user.type === 'username') {
    const password = user.password ?? process.env[user.passwordEnv ?? ''];
    if (password === undefined) throw new Error(`environment variable ${user.passwordEnv} is not set`);
    return { type: UserTokenType.UserName, userName: user.username, password };
  }
  const certificate = new X509Certificate(await readFile(user.certificateFile));
  return {
    type: UserTokenType.Certificate,
    certificateData: certificate.raw,
    privateKey: await readFile(user.privateKeyFile, 'utf8'),
  };
}

/** Turns node-opcua's certificate refusals (the server's, or of the user certificate) into what to do about it. */
export function explain(error: unknown, endpoint: string, user?: Security['user']): string {
  const message = errorMessage(error);
  if (/certificate verification failed|BadCertificateUntrusted/i.test(message)) {
    return (
      `the server certificate of ${endpoint} is not trusted (${message}); check it with ` +
      '`jjj-gateway certificates --config FILE list` and trust it with `… trust FINGERPRINT`'
    );
  }
  if (
    user?.type === 'certificate' &&
    /BadIdentityToken|BadUserSignatureInvalid|BadUserAccessDenied/.test(message)
  ) {
    return (
      `${endpoint} refused the user certificate ${user.certificateFile} (${message}); the server must trust ` +
      'it for user authentication, and privateKeyFile must be its private key'
    );
  }
  return message;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
