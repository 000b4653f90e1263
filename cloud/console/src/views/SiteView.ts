/**
 * The drill-down, site → line → equipment (`#/sites/<site>[/<line>/<equipment>]`).
 *
 * The site: its name, region, live state and last data age (from the live feed), gateway and
 * points, then its lines, each with its equipment (from `GET /api/v1/points`) and the counts of
 * points in bad or uncertain quality (from `GET /api/v1/latest`, read every 5 s). An unknown site
 * (404) says so.
 *
 * The equipment: a table of its points (value, unit, quality in text and colour, source time,
 * range) kept live by reading the site's latest values every second while the page is visible.
 * Contract (the console benchmark relies on it): each row is `tr[data-point-id]` with
 * `td[data-field="value"]` (the formatted value) and `td[data-field="ts"]` (the source time), and the
 * table has `data-live="true"` once the first answer is shown. A point's "Trend" button opens its
 * trend chart (`TrendChart`); on a writable point an operator or admin has a "Write…" button that
 * opens the command form (a viewer has no button at all).
 */
import {
  computed,
  defineAsyncComponent,
  defineComponent,
  h,
  onBeforeUnmount,
  onMounted,
  ref,
  shallowRef,
  type VNode,
  watch,
} from 'vue';
import { useI18n } from 'vue-i18n';
import { type Failure, failureOf } from '../api.js';
import { CommandForm } from '../components/CommandForm.js';
import { FailurePanel, StatePanel } from '../components/StatePanel.js';
import { ageOf, formatNumber, formatTime, formatValue, siteNameOf, unitSymbol } from '../format.js';
import type { LiveSite } from '../live.js';
import { fetchPoints, type LatestPoint, type PointInfo } from '../points.js';
import { hrefOf, type Route } from '../router.js';
import { useLatestPoll } from '../site/latest-poll.js';
import './site.css';
import { viewProps } from './view-props.js';

/** The trend chart (and ECharts with it) loads when a trend is first opened, not with the first view. */
const TrendChart = defineAsyncComponent(async () => (await import('../components/TrendChart.js')).TrendChart);

type Load =
  | { kind: 'loading' }
  | { kind: 'ready'; points: PointInfo[] }
  | { kind: 'unknown' }
  | { kind: 'failed'; failure: Failure };

/** Equipment of a line, in order, with its points. */
type Lines = Map<string, Map<string, PointInfo[]>>;

function linesOf(points: PointInfo[]): Lines {
  const lines: Lines = new Map();
  const sorted = [...points].sort(
    (a, b) =>
      a.line.localeCompare(b.line) ||
      a.equipment.localeCompare(b.equipment) ||
      a.point.localeCompare(b.point),
  );
  for (const point of sorted) {
    let line = lines.get(point.line);
    if (!line) {
      line = new Map();
      lines.set(point.line, line);
    }
    const equipment = line.get(point.equipment);
    if (equipment) equipment.push(point);
    else line.set(point.equipment, [point]);
  }
  return lines;
}

export const SiteView = defineComponent({
  name: 'SiteView',
  props: viewProps,
  setup(props) {
    const { t, locale } = useI18n();
    const where = computed(() =>
      props.route.view === 'site'
        ? props.route
        : { view: 'site' as const, site: '', line: undefined, equipment: undefined },
    );
    // The view is keyed by site: the site never changes in one instance, the line and equipment may.
    const site = where.value.site;
    const load = shallowRef<Load>({ kind: 'loading' });
    const selected = ref<string>();
    const writing = ref<string>();
    const now = ref(Date.now());
    const ticker = setInterval(() => {
      now.value = Date.now();
    }, 1000);

    const onEquipment = () => where.value.equipment !== undefined;
    const poll = useLatestPoll(site, () => (onEquipment() ? 1000 : 5000));

    const readPoints = async () => {
      load.value = { kind: 'loading' };
      try {
        load.value = { kind: 'ready', points: await fetchPoints(site) };
      } catch (error) {
        const failure = failureOf(error);
        load.value =
          failure.kind === 'error' && failure.status === 404
            ? { kind: 'unknown' }
            : { kind: 'failed', failure };
      }
    };

    onMounted(() => void readPoints());
    onBeforeUnmount(() => clearInterval(ticker));
    watch(
      () => [where.value.line, where.value.equipment],
      () => {
        selected.value = undefined;
        writing.value = undefined;
        poll.refresh();
      },
    );

    const live = computed<LiveSite | undefined>(() => props.feed.sites.get(site));
    const siteName = () => {
      const known = live.value;
      return known ? siteNameOf(known, locale.value) : site;
    };
    const words = () => ({ yes: t('site.bool.true'), no: t('site.bool.false'), none: t('site.noValue') });
    const latestOf = (point: PointInfo): LatestPoint | undefined => poll.points.value.get(point.pointId);

    const link = (text: string, route: Route, current = false): VNode =>
      current ? h('span', { 'aria-current': 'page' }, text) : h('a', { href: hrefOf(route) }, text);

    const breadcrumbs = () => {
      const { line, equipment } = where.value;
      const crumbs: VNode[] = [
        link(t('site.overview'), { view: 'overview' }),
        link(siteName(), { view: 'site', site }, line === undefined),
      ];
      if (line !== undefined)
        crumbs.push(link(t('site.line', { line }), { view: 'site', site, line }, equipment === undefined));
      if (line !== undefined && equipment !== undefined)
        crumbs.push(link(equipment, { view: 'site', site, line, equipment }, true));
      return h(
        'nav',
        { class: 'breadcrumbs', 'aria-label': t('site.breadcrumb') },
        h(
          'ol',
          crumbs.map((crumb, i) => h('li', { key: i }, crumb)),
        ),
      );
    };

    const about = (points: PointInfo[]) => {
      const known = live.value;
      const item = (label: string, value: VNode | string, field: string) =>
        h('div', { class: 'about-item', 'data-about': field }, [h('dt', label), h('dd', [value])]);
      const region = known ? t(`region.${known.region}`) : t('site.about.unknown');
      const state = known
        ? h('span', { class: ['badge', `badge-${known.state}`], 'data-site-state': known.state }, [
            h('span', { class: 'badge-dot', 'aria-hidden': 'true' }),
            t(`siteState.${known.state}`),
          ])
        : t('site.about.unknown');
      const age =
        known?.lastTs === null || known?.lastTs === undefined
          ? t('site.about.never')
          : (() => {
              const { unit, n } = ageOf(known.lastTs, now.value);
              return t(`age.${unit}`, { n });
            })();
      return h('dl', { class: 'site-about' }, [
        item(t('site.about.region'), region, 'region'),
        item(t('site.about.state'), state, 'state'),
        item(t('site.about.lastData'), age, 'age'),
        item(t('site.about.gateway'), known?.gateway ?? t('site.about.unknown'), 'gateway'),
        item(t('site.about.project'), known?.project ?? t('site.about.unknown'), 'project'),
        item(t('site.about.points'), formatNumber(points.length, locale.value), 'points'),
      ]);
    };

    /** Points of a list in bad and uncertain quality now, and the newest sample time among them. */
    const counts = (points: PointInfo[]) => {
      let bad = 0;
      let uncertain = 0;
      let newest: number | undefined;
      for (const point of points) {
        const latest = latestOf(point);
        if (!latest) continue;
        if (latest.quality === 'bad') bad++;
        else if (latest.quality === 'uncertain') uncertain++;
        newest = newest === undefined ? latest.ts : Math.max(newest, latest.ts);
      }
      return { bad, uncertain, newest };
    };

    const lineSection = (line: string, equipment: Map<string, PointInfo[]>) =>
      h('section', { class: 'line', key: line, 'data-line': line, 'aria-labelledby': `line-${line}` }, [
        h('h2', { id: `line-${line}` }, link(t('site.line', { line }), { view: 'site', site, line })),
        h('table', { class: 'points equipment-list' }, [
          h('caption', { class: 'visually-hidden' }, t('site.equipmentTable', { line })),
          h('thead', [
            h('tr', [
              h('th', { scope: 'col' }, t('site.col.equipment')),
              h('th', { scope: 'col', class: 'num' }, t('site.col.points')),
              h('th', { scope: 'col', class: 'num' }, t('site.col.bad')),
              h('th', { scope: 'col', class: 'num' }, t('site.col.uncertain')),
              h('th', { scope: 'col' }, t('site.col.lastSample')),
            ]),
          ]),
          h(
            'tbody',
            [...equipment.entries()].map(([name, points]) => {
              const c = counts(points);
              return h('tr', { key: name, 'data-equipment': name }, [
                h('th', { scope: 'row' }, link(name, { view: 'site', site, line, equipment: name })),
                h('td', { class: 'num' }, formatNumber(points.length, locale.value)),
                h('td', { class: ['num', { 'q-bad': c.bad > 0 }], 'data-count': 'bad' }, String(c.bad)),
                h(
                  'td',
                  { class: ['num', { 'q-uncertain': c.uncertain > 0 }], 'data-count': 'uncertain' },
                  String(c.uncertain),
                ),
                h('td', c.newest === undefined ? t('site.about.never') : formatTime(c.newest, locale.value)),
              ]);
            }),
          ),
        ]),
      ]);

    const siteBody = (points: PointInfo[]) => {
      if (points.length === 0) return h(StatePanel, { kind: 'empty', title: t('site.noPoints') });
      const lines = linesOf(points);
      const only = where.value.line;
      const shown = [...lines.entries()].filter(([line]) => only === undefined || line === only);
      return h('div', { class: 'lines' }, [
        h('h2', { class: 'visually-hidden' }, t('site.lines')),
        ...shown.map(([line, equipment]) => lineSection(line, equipment)),
      ]);
    };

    const quality = (latest: LatestPoint | undefined) => {
      const q = latest?.quality ?? 'none';
      return h('span', { class: ['quality', `q-${q}`], 'data-quality': q }, [
        h('span', { class: 'quality-dot', 'aria-hidden': 'true' }),
        t(`site.quality.${q}`),
      ]);
    };

    const range = (point: PointInfo, latest: LatestPoint | undefined) => {
      const declared =
        typeof point.min === 'number' && typeof point.max === 'number'
          ? t('site.rangeOf', {
              min: formatNumber(point.min, locale.value),
              max: formatNumber(point.max, locale.value),
            })
          : '';
      const out = latest?.outOfRange;
      return h('td', { 'data-field': 'range', 'data-out-of-range': out ?? '' }, [
        declared ? h('span', { class: 'range' }, declared) : null,
        out
          ? h('span', { class: 'flag flag-out' }, t(`site.outOfRange.${out}`))
          : declared
            ? null
            : h('span', { class: 'muted' }, t('site.noValue')),
      ]);
    };

    const canWrite = (point: PointInfo) => point.writable === true && props.principal.role !== 'viewer';

    const pointRow = (point: PointInfo) => {
      const latest = latestOf(point);
      const unit = unitSymbol(latest?.unit ?? point.unit);
      const isSelected = selected.value === point.pointId;
      return h(
        'tr',
        {
          key: point.pointId,
          'data-point-id': point.pointId,
          class: [`row-${latest?.quality ?? 'none'}`, { selected: isSelected }],
        },
        [
          h('th', { scope: 'row' }, [
            h('span', { class: 'point-name' }, point.point),
            point.description ? h('span', { class: 'point-description' }, point.description) : null,
          ]),
          h(
            'td',
            { 'data-field': 'value', class: typeof latest?.value === 'number' ? 'num value' : 'value' },
            formatValue(latest?.value ?? null, locale.value, words()),
          ),
          h('td', { 'data-field': 'unit', title: point.unit ?? '' }, unit),
          h('td', { 'data-field': 'quality' }, quality(latest)),
          h(
            'td',
            { 'data-field': 'ts', 'data-ts': latest?.ts ?? '' },
            latest
              ? h(
                  'time',
                  { datetime: new Date(latest.ts).toISOString() },
                  formatTime(latest.ts, locale.value),
                )
              : t('site.noValue'),
          ),
          range(point, latest),
          h('td', { class: 'actions' }, [
            h(
              'button',
              {
                type: 'button',
                class: ['button', 'small', { primary: isSelected }],
                'aria-pressed': String(isSelected),
                'aria-label': t('site.trendOf', { point: point.point }),
                'data-action': 'trend',
                onClick: () => {
                  selected.value = isSelected ? undefined : point.pointId;
                },
              },
              t('site.trend'),
            ),
            canWrite(point)
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'button small',
                    'aria-label': t('site.writeOf', { point: point.point }),
                    'aria-expanded': String(writing.value === point.pointId),
                    'data-action': 'write',
                    onClick: () => {
                      writing.value = writing.value === point.pointId ? undefined : point.pointId;
                    },
                  },
                  t('site.write'),
                )
              : null,
          ]),
        ],
      );
    };

    const liveNote = () => {
      const { status } = poll;
      if (status.failure)
        return h(
          'p',
          { class: 'live-note live-error', role: 'alert' },
          t('site.pollError', {
            message:
              status.failure.kind === 'error' || status.failure.kind === 'forbidden'
                ? status.failure.message
                : t(status.failure.kind === 'unreachable' ? 'state.unreachable' : 'state.notPermitted'),
          }),
        );
      if (status.paused) return h('p', { class: 'live-note' }, t('site.paused'));
      if (status.updatedAt === null) return h('p', { class: 'live-note' }, t('state.loading'));
      return h(
        'p',
        { class: 'live-note' },
        t('site.live', { time: formatTime(status.updatedAt, locale.value, now.value) }),
      );
    };

    const equipmentBody = (points: PointInfo[], line: string, equipment: string) => {
      const mine = points
        .filter((p) => p.line === line && p.equipment === equipment)
        .sort((a, b) => a.point.localeCompare(b.point));
      if (mine.length === 0)
        return h(StatePanel, { kind: 'empty', title: t('site.unknownEquipment', { line, equipment }) });
      const trendPoint = mine.find((p) => p.pointId === selected.value);
      const writePoint = mine.find((p) => p.pointId === writing.value && canWrite(p));
      return h('div', { class: 'equipment' }, [
        liveNote(),
        h('div', { class: 'table-scroll' }, [
          h('table', { class: 'points point-table', 'data-live': String(poll.status.loaded) }, [
            h('caption', t('site.pointsCaption', { equipment, line })),
            h('thead', [
              h('tr', [
                h('th', { scope: 'col' }, t('site.col.point')),
                h('th', { scope: 'col', class: 'num' }, t('site.col.value')),
                h('th', { scope: 'col' }, t('site.col.unit')),
                h('th', { scope: 'col' }, t('site.col.quality')),
                h('th', { scope: 'col' }, t('site.col.ts')),
                h('th', { scope: 'col' }, t('site.col.range')),
                h('th', { scope: 'col' }, t('site.col.actions')),
              ]),
            ]),
            h('tbody', mine.map(pointRow)),
          ]),
        ]),
        writePoint
          ? h(CommandForm, {
              key: `write-${writePoint.pointId}`,
              site,
              point: writePoint,
              current: latestOf(writePoint),
              onDone: () => {
                writing.value = undefined;
              },
            })
          : null,
        trendPoint
          ? h(TrendChart, {
              key: `trend-${trendPoint.pointId}`,
              pointId: trendPoint.pointId,
              label: `${equipment} · ${trendPoint.point}`,
              unit: unitSymbol(trendPoint.unit),
              latest: latestOf(trendPoint),
            })
          : null,
      ]);
    };

    return () => {
      const state = load.value;
      const { line, equipment } = where.value;
      if (state.kind === 'unknown')
        return h('section', { class: 'view site-view', 'data-site-view': 'unknown' }, [
          breadcrumbs(),
          h(StatePanel, {
            kind: 'empty',
            title: t('site.unknownSite', { site }),
            hint: t('site.unknownSiteHint'),
          }),
          h('p', { class: 'back' }, h('a', { href: hrefOf({ view: 'overview' }) }, t('site.backToOverview'))),
        ]);
      const heading = equipment ?? siteName();
      return h(
        'section',
        {
          class: 'view site-view',
          'data-site-view': equipment !== undefined ? 'equipment' : line !== undefined ? 'line' : 'site',
        },
        [
          breadcrumbs(),
          h('header', { class: 'site-head' }, [
            h('h1', [
              h('span', { class: 'site-title' }, heading),
              h('span', { class: 'site-id' }, equipment !== undefined ? `${siteName()} · ${line}` : site),
            ]),
          ]),
          state.kind === 'loading'
            ? h(StatePanel, { kind: 'loading', title: t('state.loading') })
            : state.kind === 'failed'
              ? h(FailurePanel, { failure: state.failure, onRetry: () => void readPoints() })
              : equipment !== undefined && line !== undefined
                ? equipmentBody(state.points, line, equipment)
                : [about(state.points), siteBody(state.points)],
        ],
      );
    };
  },
});
