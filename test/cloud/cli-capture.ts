/** A `jjj-collector` CLI's process for in-process tests: captured output, a chosen environment. */
import type { AccountCliIo } from '../../cloud/auth/account-cli.js';

export function captureCliIo(env: NodeJS.ProcessEnv = {}): {
  io: AccountCliIo;
  out: { stdout: string; stderr: string };
} {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text) },
      env,
      waitForStop: () => new Promise<string>(() => {}),
    },
  };
}
