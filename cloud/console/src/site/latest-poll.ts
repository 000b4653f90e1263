/**
 * The newest sample of every point of a site, read with `GET /api/v1/latest` every `intervalMs()`
 * while the view is mounted and the page visible: one request at a time (the next is timed from
 * the end of the last), paused while the page is hidden, stopped on unmount.
 */
import { onBeforeUnmount, onMounted, reactive, shallowRef } from 'vue';
import { type Failure, failureOf } from '../api.js';
import { fetchLatest, type LatestPoint } from '../points.js';

export interface LatestPoll {
  /** The latest answer by point id (a new map per answer). */
  readonly points: { value: Map<string, LatestPoint> };
  readonly status: {
    /** True once the first answer arrived. */
    loaded: boolean;
    /** When the last answer arrived (browser clock), ms. */
    updatedAt: number | null;
    paused: boolean;
    failure: Failure | null;
  };
  /** Called after each answer, with the map. */
  onUpdate(listener: (points: Map<string, LatestPoint>) => void): void;
  /** Asks now (unless a request is under way) instead of at the next tick. */
  refresh(): void;
}

/** `intervalMs` is asked before each wait, so a view can poll faster while it shows live values. */
export function useLatestPoll(site: string, intervalMs: () => number): LatestPoll {
  const points = shallowRef(new Map<string, LatestPoint>());
  const status = reactive({
    loaded: false,
    updatedAt: null as number | null,
    paused: false,
    failure: null as Failure | null,
  });
  const listeners: ((points: Map<string, LatestPoint>) => void)[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight = false;
  let stopped = false;

  const schedule = (delay: number) => {
    clearTimeout(timer);
    if (stopped || document.visibilityState === 'hidden') return;
    timer = setTimeout(() => void poll(), delay);
  };

  const poll = async () => {
    if (inFlight || stopped) return;
    if (document.visibilityState === 'hidden') {
      status.paused = true;
      return;
    }
    inFlight = true;
    try {
      const answer = await fetchLatest(site);
      if (stopped) return;
      const next = new Map(answer.map((point) => [point.pointId, point]));
      points.value = next;
      status.loaded = true;
      status.updatedAt = Date.now();
      status.failure = null;
      for (const listener of listeners) listener(next);
    } catch (error) {
      if (stopped) return;
      status.failure = failureOf(error);
    } finally {
      inFlight = false;
      schedule(intervalMs());
    }
  };

  const onVisibility = () => {
    if (document.visibilityState === 'hidden') {
      clearTimeout(timer);
      status.paused = true;
    } else {
      status.paused = false;
      if (!inFlight) schedule(0);
    }
  };

  onMounted(() => {
    document.addEventListener('visibilitychange', onVisibility);
    status.paused = document.visibilityState === 'hidden';
    void poll();
  });
  onBeforeUnmount(() => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  });

  return {
    points,
    status,
    onUpdate(listener) {
      listeners.push(listener);
    },
    refresh() {
      if (!inFlight) schedule(0);
    },
  };
}
