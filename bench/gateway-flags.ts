import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The Node.js flags on the shebang line of the built `jjj-gateway` (dist/gateway/cli.js): the way
 * npx, the release's bin and the image start it, and so the way the benchmarks start a gateway.
 */
export function gatewayShebangFlags(): string[] {
  const cli = readFileSync(fileURLToPath(new URL('../gateway/cli.js', import.meta.url)), 'utf8');
  return (cli.split('\n', 1)[0] ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}
