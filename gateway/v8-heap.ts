/**
 * V8 heap sizing the gateway applies to itself, so it holds however the gateway is started (the
 * `jjj-gateway` bin, `node dist/gateway/cli.js`, the systemd unit, the image) with no flag to know.
 *
 * Old generation: after each full GC V8 lets it grow to up to 4 × what survived before the next
 * one (with 40 MB live, a gateway's old space swung between 45 and 200 MB, RSS with it). The
 * growth factor (`--heap-growing-percent`) is read at each GC, so setting it at run time holds:
 * at 2 × the old space stays near 80 MB, at a few more full GCs (measured: RSS 163–169 MB flat
 * instead of 154–251 MB, CPU per point within noise).
 *
 * Young generation: V8 grows it (doubling its semi-spaces) as objects survive scavenges, up to
 * 2 × 16 MB, and keeps it all resident. `--max-semi-space-size` is read only when the process
 * starts, but the growth factor is read at each growth, so the cap is kept with it: 1 (no growth)
 * at the cap, 2 below it. The factor is set from GC notifications, which arrive after the task that
 * made the GCs: a start-up task where everything survives could grow it twice in between, so it
 * starts at 1, and grows only once the gateway runs. (V8 also shrinks an idle young generation;
 * below the cap the factor is 2 again, so it can grow back.)
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Semi-space cap: what survives a scavenge in a busy gateway stays well under it. */
export const semiSpaceCapMb = 8;
/** The old generation may grow by this much over what survived the last full GC. */
export const oldGenerationGrowthPercent = 100;

/**
 * Applies both for the rest of the process's life (it is the gateway's own process), except where
 * Node.js was given its own setting (on its command line or in NODE_OPTIONS), which stands.
 */
export function tuneHeap(nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? '']): void {
  const given = (flag: string) => nodeFlags.some((flags) => flags.replaceAll('_', '-').includes(`--${flag}`));
  if (!given('heap-growing-percent')) limitOldGenerationGrowth();
  if (!given('max-semi-space-size') && !given('semi-space-growth-factor')) capYoungGeneration();
}

export function limitOldGenerationGrowth(percent = oldGenerationGrowthPercent): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** Starts capping the young generation; returns the function that stops it. */
export function capYoungGeneration(capMb = semiSpaceCapMb): () => void {
  let factor = 0;
  const setFactor = (wanted: number) => {
    if (wanted === factor) return;
    factor = wanted;
    setFlagsFromString(`--semi-space-growth-factor=${wanted}`);
  };
  setFactor(1);
  const observer = new PerformanceObserver(() => {
    // new_space's size counts both semi-spaces.
    const size = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
    setFactor(size >= 2 * capMb * 2 ** 20 ? 1 : 2);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    setFactor(2);
  };
}

/**
 * One full GC once the gateway has started. Until its first full GC V8 lets the old generation grow
 * to a start-up limit of well over 100 MB, which the garbage of loading the config and announcing
 * 10,000 points fills (RSS 250–290 MB in the first 10 s); after it, the limit follows what the
 * running gateway keeps. `gc` is reached through a context of its own: the global one has none.
 */
export function collectStartUpGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
