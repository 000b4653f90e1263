/**
 * V8 heap sizing the gateway applies to itself, so it holds however the gateway is started (the
 * `jjj-gateway` bin, `node dist/gateway/cli.js`, the systemd unit, the image) with no flag to know.
 *
 * Old generation: after each full GC V8 lets it grow to up to 4 × what survived before the next
 * one (with 40 MB live, a gateway's old space swung between 45 and 200 MB, RSS with it). The
 * growth factor (`--heap-growing-percent`) is read at each GC, so setting it at run time holds. The
 * gateway sets it after each full GC so that promoted garbage may add about `oldGenerationHeadroomMb`
 * before the next one (between 20 % and 100 % of what survived). Measured with `npm run
 * bench:gateway` (with the 6 MB semi-spaces below and one V8 worker thread): 200 Modbus devices × 50
 * points (29 MB kept) run at 100–116 MB RSS over 10 minutes (16 MB of headroom and 8 MB semi-spaces:
 * 115–123 MB; 2 × what survived: 146–150 MB; V8's own: 154–251 MB); 10,000 OPC UA items (49 MB kept)
 * at 131–140 MB.
 * A full GC of the kept heap takes tens of milliseconds; with this headroom there are a few a minute.
 *
 * Young generation: V8 grows it (doubling its semi-spaces) as objects survive scavenges, up to
 * 2 × 16 MB, and keeps it all resident. `--max-semi-space-size` is read only when the process
 * starts, but the growth factor is read at each growth, so the cap is kept with it: the factor that
 * reaches the cap in one step below it, 1 (no growth) at it. The factor is set from GC notifications,
 * which arrive after the task that made the GCs: a start-up task where everything survives could
 * grow it twice in between, so it starts at 1, and grows only once the gateway runs. (V8 also
 * shrinks an idle young generation; below the cap the factor lets it grow back.) 6 MB rather than 8
 * takes 4 MB off RSS; fewer MB promote objects that live through a burst of OPC UA notifications
 * (4 MB: twice the full GCs and twice the CPU).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Semi-space cap: what survives a scavenge in a busy gateway stays well under it. */
export const semiSpaceCapMb = 6;
/** What the old generation may grow by between full GCs, as a share of what survived the last. */
export const oldGenerationHeadroomMb = 8;
const growthPercentRange = { min: 20, max: 100 };

/** Whether a `gc` performance entry is a full (mark-compact) GC. */
export function isFullGc(entry: object): boolean {
  // Node 20's types lack `detail`, which gc entries carry (with the GC's kind).
  const { kind } = ((entry as { detail?: unknown }).detail ?? {}) as { kind?: number };
  return kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}

/**
 * The heap a full GC leaves in use. Read from a GC notification, which comes a moment after the GC:
 * the young generation has filled again meanwhile, so only the spaces a full GC leaves holding live
 * objects are counted.
 */
export function heapKeptBytes(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space') bytes += space.space_used_size;
  }
  return bytes;
}

/** The growth percent that gives `oldGenerationHeadroomMb` over a kept heap of this size, within its range. */
export function growthPercentFor(keptBytes: number): number {
  const percent = Math.round(((oldGenerationHeadroomMb * 2 ** 20) / Math.max(1, keptBytes)) * 100);
  return Math.min(growthPercentRange.max, Math.max(growthPercentRange.min, percent));
}

/** Set by `tuneHeap` when the gateway sizes the old generation itself: sets the percent for the heap kept now. */
let fitOldGenerationGrowth: (() => void) | undefined;

/**
 * Applies both for the rest of the process's life (it is the gateway's own process), except where
 * Node.js was given its own setting (on its command line or in NODE_OPTIONS), which stands.
 */
export function tuneHeap(nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? '']): void {
  const given = (flag: string) => nodeFlags.some((flags) => flags.replaceAll('_', '-').includes(`--${flag}`));
  if (!given('heap-growing-percent')) limitOldGenerationGrowth();
  if (!given('max-semi-space-size') && !given('semi-space-growth-factor')) capYoungGeneration();
}

/** A fixed growth percent when given; else the headroom rule, applied again after each full GC. */
export function limitOldGenerationGrowth(percent?: number): () => void {
  if (percent !== undefined) {
    setFlagsFromString(`--heap-growing-percent=${percent}`);
    return () => undefined;
  }
  let applied = 0;
  const fitToKeptHeap = () => {
    const wanted = growthPercentFor(heapKeptBytes());
    if (wanted === applied) return;
    applied = wanted;
    setFlagsFromString(`--heap-growing-percent=${wanted}`);
  };
  fitToKeptHeap();
  fitOldGenerationGrowth = fitToKeptHeap;
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some(isFullGc)) fitToKeptHeap();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    fitOldGenerationGrowth = undefined;
  };
}

/**
 * Starts capping the young generation; returns the function that stops it. V8 multiplies a
 * semi-space by the growth factor, so a cap that is not a power of two is reached in one step: the
 * factor is the whole number of times the current size fits in the cap (6 MB: 1 → 6, 2 → 6, 4 stays).
 */
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
    setFactor(growthFactorFor(size / 2, capMb));
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    setFactor(2);
  };
}

/** The semi-space growth factor that brings a semi-space of `semiSpaceBytes` up to at most `capMb`. */
export function growthFactorFor(semiSpaceBytes: number, capMb: number): number {
  return Math.max(1, Math.floor((capMb * 2 ** 20) / Math.max(1, semiSpaceBytes)));
}

/**
 * One full GC once the gateway has started. Until its first full GC V8 lets the old generation grow
 * to a start-up limit of well over 100 MB, which the garbage of loading the config and announcing
 * 10,000 points fills (RSS 250–290 MB in the first 10 s); after it, the limit follows what the
 * running gateway keeps. `gc` is reached through a context of its own: the global one has none.
 */
export function collectStartUpGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  if (!fitOldGenerationGrowth) return;
  // The limit a full GC sets uses the percent in force then: fit it to what the gateway keeps, and
  // collect once more so the limit follows it from now on.
  fitOldGenerationGrowth();
  gc();
}
