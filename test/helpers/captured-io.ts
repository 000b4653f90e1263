/** A `CliIo` whose output the test reads, and whose stop signal the test gives (never, by default). */
import type { CliIo } from '../../gateway/common/cli-io.js';

export function capturedIo(stop: Promise<string> = new Promise(() => {})): {
  io: CliIo;
  out: { stdout: string; stderr: string };
} {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    env: {},
    waitForStop: () => stop,
  };
  return { io, out };
}
