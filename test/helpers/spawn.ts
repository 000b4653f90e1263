/** Runs the built CLIs (`dist/`, made by `npm test`'s build step) as child processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves when stdout matches; rejects if the process exits first or after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => {
    out += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    err += String(chunk);
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStdout(pattern, timeoutMs = 60_000) {
      await waitUntil(
        () => `${pattern} after ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`,
        () => {
          if (pattern.test(out)) return true;
          if (hasExited) {
            throw new Error(`process exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`);
          }
          return false;
        },
        timeoutMs,
      );
      // Output only grows, so the first match found is still there.
      return out.match(pattern) as RegExpMatchArray;
    },
  };
}
