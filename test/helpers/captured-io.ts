/**
 * A `CliIo` whose output the test reads, with the environment the test chooses (empty by default)
 * and a stop signal the test gives (never, by default).
 */
import type { CliIo } from '../../gateway/common/cli-io.js';

export function capturedIo(options: { env?: NodeJS.ProcessEnv; stop?: Promise<string> } = {}): {
  io: CliIo;
  out: { stdout: string; stderr: string };
} {
  const out = { stdout: '', stderr: '' };
  const stop = options.stop ?? new Promise<string>(() => {});
  const io: CliIo = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    env: options.env ?? {},
    waitForStop: () => stop,
  };
  return { io, out };
}
