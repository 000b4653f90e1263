/**
 * TLS settings both programs take (the gateway's and the collector's MQTT, the collector's InfluxDB):
 * a private CA, a client certificate and key for mutual TLS, and whether the server is checked. The
 * files are read and checked at config load, so a missing or non-PEM file is a `path: reason` line
 * and not a handshake failure an hour later.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

export const TlsSettings = z
  .strictObject({
    ca: z.string().min(1).optional().describe("PEM file of the CA that signed the server's certificate"),
    cert: z.string().min(1).optional().describe('PEM file of the client certificate (mutual TLS)'),
    key: z.string().min(1).optional().describe('PEM file of the client private key (mutual TLS)'),
    rejectUnauthorized: z.boolean().default(true).describe("false skips checking the server's certificate"),
  })
  .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), {
    message: 'cert and key go together',
    path: ['key'],
  })
  .describe('file paths are relative to the config file');

export type TlsSettings = z.infer<typeof TlsSettings>;

/** The contents of the files, as `tls.connect` takes them. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Why the text is not a PEM certificate (or CA bundle), or undefined when it is one. */
function certificateProblem(text: string): string | undefined {
  const blocks = text.match(certificateBlock);
  if (!blocks) return 'not a PEM certificate (no -----BEGIN CERTIFICATE----- block)';
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      return `not a valid PEM certificate (${(error as Error).message})`;
    }
  }
  return undefined;
}

function keyProblem(text: string): string | undefined {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    return 'not a PEM private key (no -----BEGIN … PRIVATE KEY----- block)';
  }
  try {
    createPrivateKey(text);
    return undefined;
  } catch (error) {
    return `not a usable PEM private key (${(error as Error).message})`;
  }
}

/**
 * Reads and checks the files of `settings` (relative to `baseDir`); each problem is added to
 * `problems` as `<settingPath>.<file>: reason`.
 */
export function readTlsFiles(
  settings: TlsSettings,
  baseDir: string,
  settingPath: string,
  problems: string[],
): TlsMaterial {
  const material: TlsMaterial = { rejectUnauthorized: settings.rejectUnauthorized };
  for (const name of ['ca', 'cert', 'key'] as const) {
    const file = settings[name];
    if (file === undefined) continue;
    const path = resolve(baseDir, file);
    let contents: Buffer;
    try {
      contents = readFileSync(path);
    } catch (error) {
      problems.push(
        `${settingPath}.${name}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
      continue;
    }
    const problem =
      name === 'key'
        ? keyProblem(contents.toString('latin1'))
        : certificateProblem(contents.toString('latin1'));
    if (problem) problems.push(`${settingPath}.${name}: ${path} is ${problem}`);
    else material[name] = contents;
  }
  return material;
}
