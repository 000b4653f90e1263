/**
 * The console's views by the URL's hash, so a view can be bookmarked, reloaded and shared, and the
 * collector serves one page (`#/` is the overview). Unknown hashes fall back to the overview.
 */
import { type Ref, shallowRef } from 'vue';

export type Route =
  | { view: 'overview' }
  | { view: 'projects' }
  | { view: 'compare'; query: URLSearchParams }
  | { view: 'health' }
  | { view: 'commands' }
  | { view: 'site'; site: string; line?: string; equipment?: string };

export type ViewName = Route['view'];

/** The top-level views in the navigation bar, in order. */
export const navViews = [
  'overview',
  'projects',
  'compare',
  'health',
  'commands',
] as const satisfies ViewName[];

export type NavView = (typeof navViews)[number];

export function navHref(view: NavView): string {
  return view === 'overview' ? '#/' : `#/${view}`;
}

export function parseHash(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part));
  const [first, site, line, equipment] = parts;
  switch (first) {
    case 'projects':
      return { view: 'projects' };
    case 'compare':
      return { view: 'compare', query: new URLSearchParams(search) };
    case 'health':
      return { view: 'health' };
    case 'commands':
      return { view: 'commands' };
    case 'sites':
      if (site === undefined) return { view: 'overview' };
      return {
        view: 'site',
        site,
        ...(line !== undefined && { line }),
        ...(line !== undefined && equipment !== undefined && { equipment }),
      };
    default:
      return { view: 'overview' };
  }
}

/** The hash of a route, e.g. `#/sites/bj-etown-cnc/line-1/cnc-01` or `#/compare?kpi=oee`. */
export function hrefOf(route: Route): string {
  switch (route.view) {
    case 'overview':
      return '#/';
    case 'compare': {
      const search = route.query.toString();
      return search === '' ? '#/compare' : `#/compare?${search}`;
    }
    case 'site':
      return `#/${['sites', route.site, route.line, route.equipment]
        .filter((part): part is string => part !== undefined)
        .map(encodeURIComponent)
        .join('/')}`;
    default:
      return `#/${route.view}`;
  }
}

const current = shallowRef<Route>(parseHash(location.hash));
window.addEventListener('hashchange', () => {
  current.value = parseHash(location.hash);
});

/** The route now; changes when the hash does (links, back and forward, `navigate`). */
export const route: Readonly<Ref<Route>> = current;

export function navigate(to: Route, options: { replace?: boolean } = {}): void {
  const href = hrefOf(to);
  if (options.replace) history.replaceState(null, '', href);
  else if (location.hash !== href) location.hash = href;
  current.value = parseHash(href);
}
