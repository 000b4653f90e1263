/**
 * The live sites feed: an EventSource on /api/v1/events (`event: sites` with every site on
 * connect, then `event: site` with one changed site). On an error the stream is closed and the
 * reason probed with one fetch of the same URL (the EventSource API hides the HTTP status): 401
 * means the session ended, 403 not permitted, 503 too many live clients; anything else is a lost
 * connection, retried with a growing delay (1 s to 10 s) while the state says "reconnecting".
 */
import { reactive } from 'vue';

export type SiteState = 'online' | 'stale' | 'offline';
export type Region = 'BJ' | 'TJ' | 'HE';
/** The regions in the order the console lists them. */
export const REGIONS: readonly Region[] = ['BJ', 'TJ', 'HE'];

/** One site as the events contract sends it. */
export interface LiveSite {
  id: string;
  name: string;
  nameZh: string | null;
  region: Region;
  project: string;
  gateway: string;
  state: SiteState;
  lastTs: number | null;
  points: number;
  protocols: string[];
  /** Points whose newest sample is bad / uncertain. */
  badPoints: number;
  uncertainPoints: number;
  /** Received ÷ expected batches over the last hour (0…1); null when no batch was numbered. */
  completeness: number | null;
}

export type FeedState =
  | 'connecting'
  | 'live'
  | 'reconnecting'
  | 'busy'
  | 'unauthenticated'
  | 'forbidden'
  | 'closed';

export interface Feed {
  readonly status: { state: FeedState; loaded: boolean; updatedAt: number | null };
  readonly sites: Map<string, LiveSite>;
  close(): void;
  /** Reconnect now instead of waiting for the next retry. */
  retry(): void;
}

const EVENTS_URL = '/api/v1/events';

export function openFeed(url = EVENTS_URL): Feed {
  const status = reactive({
    state: 'connecting' as FeedState,
    loaded: false,
    updatedAt: null as number | null,
  });
  const sites = reactive(new Map<string, LiveSite>());
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delayMs = 1000;
  let closed = false;

  const connect = () => {
    clearTimeout(timer);
    source?.close();
    if (closed) return;
    if (status.state !== 'reconnecting' && status.state !== 'busy') status.state = 'connecting';
    const stream = new EventSource(url, { withCredentials: true });
    source = stream;
    stream.addEventListener('sites', (event) => {
      const all = parse<LiveSite[]>(event);
      if (!all) return;
      sites.clear();
      for (const site of all) sites.set(site.id, site);
      status.state = 'live';
      status.loaded = true;
      status.updatedAt = Date.now();
      delayMs = 1000;
    });
    stream.addEventListener('site', (event) => {
      const site = parse<LiveSite>(event);
      if (!site) return;
      sites.set(site.id, site);
      status.updatedAt = Date.now();
    });
    stream.addEventListener('error', () => {
      if (source !== stream || closed) return;
      stream.close();
      void probe();
    });
  };

  const probe = async () => {
    const controller = new AbortController();
    let code = 0;
    try {
      const response = await fetch(url, { signal: controller.signal, credentials: 'same-origin' });
      code = response.status;
    } catch {
      code = 0;
    } finally {
      controller.abort();
    }
    if (closed) return;
    if (code === 401) status.state = 'unauthenticated';
    else if (code === 403) status.state = 'forbidden';
    else {
      status.state = code === 503 ? 'busy' : 'reconnecting';
      timer = setTimeout(connect, delayMs);
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  };

  connect();
  return {
    status,
    sites,
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
      status.state = 'closed';
    },
    retry() {
      delayMs = 1000;
      connect();
    },
  };
}

function parse<T>(event: Event): T | undefined {
  try {
    return JSON.parse((event as MessageEvent<string>).data) as T;
  } catch {
    return undefined;
  }
}
