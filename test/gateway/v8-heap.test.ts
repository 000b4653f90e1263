/** The young-generation cap the gateway applies to itself, in a child process (built by `npm test`). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';

/** new_space's size (both semi-spaces, MB) after churning objects that survive a scavenge or two. */
function youngGenerationMb(capMb: number | undefined): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    ${capMb === undefined ? '' : `(await import('./dist/gateway/v8-heap.js')).capYoungGeneration(${capMb});`}
    const kept = [];
    let largest = 0;
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 10000; i++) kept.push({ i, text: 'x' + i });
      kept.splice(0, Math.max(0, kept.length - 100000));
      await new Promise((resolve) => setImmediate(resolve));
      const size = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
      largest = Math.max(largest, size);
    }
    console.log(largest / 2 ** 20);
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  expect(run.stderr).toBe('');
  return Number(run.stdout.trim());
}

describe('the young-generation cap', () => {
  it('stops V8 growing the semi-spaces past the cap, with no flag on the command line', () => {
    const uncapped = youngGenerationMb(undefined);
    const capped = youngGenerationMb(2);
    expect(uncapped).toBeGreaterThan(4);
    expect(capped).toBeLessThanOrEqual(4);
  }, 60_000);
});
