/** The young-generation cap the gateway applies to itself, in a child process (built by `npm test`). */
import { spawnSync } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  collectStartUpGarbage,
  growthFactorFor,
  growthPercentFor,
  oldGenerationHeadroomMb,
  semiSpaceCapMb,
} from '../../gateway/v8-heap.js';
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

/** The old space's largest use (MB) with 20 MB live and garbage promoted all the time. */
function oldSpacePeakMb(percent: number | undefined): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    ${percent === undefined ? '' : `(await import('./dist/gateway/v8-heap.js')).limitOldGenerationGrowth(${percent});`}
    const live = Array.from({ length: 200 }, () => new Array(12800).fill(1.5));
    const window = [];
    let largest = 0;
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < 5000; i++) window.push({ i, text: 'x' + i, more: [i, i] });
      window.splice(0, Math.max(0, window.length - 150000));
      await new Promise((resolve) => setImmediate(resolve));
      const used = getHeapSpaceStatistics().find((space) => space.space_name === 'old_space').space_used_size;
      largest = Math.max(largest, used);
    }
    console.log(live.length && largest / 2 ** 20);
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  expect(run.stderr).toBe('');
  return Number(run.stdout.trim());
}

describe('the old-generation growth limit', () => {
  it('keeps the old space near its live size, set at run time', () => {
    const unlimited = oldSpacePeakMb(undefined);
    const limited = oldSpacePeakMb(10);
    expect(limited).toBeLessThan(unlimited / 2);
  }, 60_000);
});

describe('a Node.js setting of its own', () => {
  it('stands: the gateway does not override a flag it was started with', () => {
    const script = `
      import { getHeapSpaceStatistics } from 'node:v8';
      (await import('./dist/gateway/v8-heap.js')).tuneHeap();
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
    const youngMb = (nodeOptions: string) =>
      Number(
        spawnSync(process.execPath, ['--input-type=module', '-e', script], {
          cwd: repoRoot,
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: nodeOptions },
        }).stdout.trim(),
      );
    expect(youngMb('')).toBe(2 * semiSpaceCapMb);
    expect(youngMb('--max-semi-space-size=16')).toBe(32);
  }, 60_000);
});

describe('collecting start-up garbage', () => {
  it('runs a full GC', async () => {
    const fullGc = new Promise<void>((resolve) => {
      const observer = new PerformanceObserver((list) => {
        const major = list.getEntries().some((entry) => {
          const { kind } = ((entry as { detail?: unknown }).detail ?? {}) as { kind?: number };
          return kind === constants.NODE_PERFORMANCE_GC_MAJOR;
        });
        if (!major) return;
        observer.disconnect();
        resolve();
      });
      observer.observe({ entryTypes: ['gc'] });
    });
    collectStartUpGarbage();
    await fullGc;
  });
});

describe('the old-generation growth the gateway picks', () => {
  it('gives the same headroom over any kept heap, within 20 % and 100 %', () => {
    const mb = 2 ** 20;
    expect(growthPercentFor(oldGenerationHeadroomMb * 2 * mb)).toBe(50);
    expect(growthPercentFor(oldGenerationHeadroomMb * 4 * mb)).toBe(25);
    // A small heap may double; a huge one still gets a fifth.
    expect(growthPercentFor(mb)).toBe(100);
    expect(growthPercentFor(1000 * mb)).toBe(20);
  });
});

describe('the semi-space growth factor', () => {
  it('reaches a cap that is not a power of two in one step, and stops there', () => {
    const mb = 2 ** 20;
    expect(growthFactorFor(1 * mb, 6)).toBe(6);
    expect(growthFactorFor(2 * mb, 6)).toBe(3);
    expect(growthFactorFor(4 * mb, 6)).toBe(1);
    expect(growthFactorFor(6 * mb, 6)).toBe(1);
    expect(growthFactorFor(8 * mb, 6)).toBe(1);
  });
});
