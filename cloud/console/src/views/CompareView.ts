/**
 * Plant comparison (`#/compare?kpi=…&by=…&sites=…&projects=…&period=…&from=…&to=…&window=…`): one
 * KPI for several sites or whole projects over a period, as bars (the whole period) and trend lines
 * (per window), with the figures in a table beside them, the KPI's definition, and the same query
 * as CSV. The form's state is the URL's query, so a comparison can be shared and survives a reload;
 * without a query it is OEE of every site over the last 24 h.
 */
import {
  computed,
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
import { type ChartOption, type MountedChart, mountChart } from '../charts.js';
import { FailurePanel, StatePanel } from '../components/StatePanel.js';
import { siteNameOf } from '../format.js';
import type { Locale } from '../i18n.js';
import { type LiveSite, REGIONS, type Region } from '../live.js';
import { navigate } from '../router.js';
import {
  type CompareAnswer,
  type CompareEntity,
  chartValue,
  fetchCompare,
  fetchKpiDefinitions,
  fetchProjects,
  formatKpi,
  type KpiDefinition,
  localized,
  type ProjectsAnswer,
  projectNameOf,
  shownKpis,
  unitText,
} from './kpi-data.js';
import './compare.css';
import { selectField } from '../components/select-field.js';
import { viewProps } from './view-props.js';

const periods = ['24h', '7d', '30d', 'custom'] as const;
type Period = (typeof periods)[number];
const periodMs: Record<Exclude<Period, 'custom'>, number> = {
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
  '30d': 30 * 24 * 3_600_000,
};
const windows = ['auto', '1h', '5m'] as const;
type WindowChoice = (typeof windows)[number];
const DAY_MS = 24 * 3_600_000;

/** The form as the URL's query says it (anything missing takes its default). */
interface Form {
  kpi: string;
  by: 'site' | 'project';
  /** `null`: every site (or project). */
  sites: string[] | null;
  projects: string[] | null;
  split: boolean;
  period: Period;
  from: string;
  to: string;
  window: WindowChoice;
}

const list = (value: string | null) =>
  value === null ? null : value.split(',').filter((item) => item !== '');

function localDate(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Local midnight of a YYYY-MM-DD, or undefined. */
function midnightOf(date: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return undefined;
  const ms = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function formOf(query: URLSearchParams): Form {
  const period = query.get('period');
  const window = query.get('window');
  const by = query.get('by');
  const today = localDate(Date.now());
  return {
    kpi: query.get('kpi') || 'oee',
    by: by === 'site' || by === 'project' ? by : query.has('projects') ? 'project' : 'site',
    sites: list(query.get('sites')),
    projects: list(query.get('projects')),
    split: query.get('split') === 'sites',
    period: periods.includes(period as Period)
      ? (period as Period)
      : query.has('from') || query.has('to')
        ? 'custom'
        : '24h',
    from: query.get('from') ?? localDate(Date.now() - 7 * DAY_MS),
    to: query.get('to') ?? today,
    window: windows.includes(window as WindowChoice) ? (window as WindowChoice) : 'auto',
  };
}

function queryOf(form: Form): URLSearchParams {
  const query = new URLSearchParams();
  query.set('kpi', form.kpi);
  query.set('by', form.by);
  if (form.by === 'site' && form.sites !== null) query.set('sites', form.sites.join(','));
  if (form.by === 'project' && form.projects !== null) query.set('projects', form.projects.join(','));
  if (form.by === 'project' && form.split) query.set('split', 'sites');
  query.set('period', form.period);
  if (form.period === 'custom') {
    query.set('from', form.from);
    query.set('to', form.to);
  }
  if (form.window !== 'auto') query.set('window', form.window);
  return query;
}

/** The API's parameters for a form, or a reason it cannot be asked yet. */
function apiParams(
  form: Form,
  now: number,
): { params: Record<string, string | number> } | { missing: 'site' | 'project' } {
  const params: Record<string, string | number> = {
    kpi: form.kpi,
    level: form.by === 'project' && !form.split ? 'project' : 'site',
    window: form.window === 'auto' ? '1h' : form.window,
  };
  if (form.by === 'site' && form.sites !== null) {
    if (form.sites.length === 0) return { missing: 'site' as const };
    params.sites = form.sites.join(',');
  }
  if (form.by === 'project' && form.projects !== null) {
    if (form.projects.length === 0) return { missing: 'project' };
    params.projects = form.projects.join(',');
  }
  if (form.period === 'custom') {
    const from = midnightOf(form.from);
    const to = midnightOf(form.to);
    // Sent as the user typed them: the API names what is wrong with a missing or reversed range.
    params.from = from ?? form.from;
    params.to = to === undefined ? form.to : to + DAY_MS - 1;
  } else {
    params.to = now;
    params.from = now - periodMs[form.period];
  }
  return { params };
}

type Result =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'ready'; answer: CompareAnswer; params: Record<string, string | number> }
  | { kind: 'missing'; what: 'site' | 'project' }
  | { kind: 'failed'; failure: Failure };

export const CompareView = defineComponent({
  name: 'CompareView',
  props: viewProps,
  setup(props) {
    const { t, locale } = useI18n();
    const lang = () => locale.value as Locale;
    const query = computed(() =>
      props.route.view === 'compare' ? props.route.query : new URLSearchParams(),
    );
    const form = computed(() => formOf(query.value));
    const definitions = shallowRef<Map<string, KpiDefinition>>();
    const projects = shallowRef<ProjectsAnswer>();
    const result = shallowRef<Result>({ kind: 'idle' });
    const barEl = ref<HTMLElement | null>(null);
    const lineEl = ref<HTMLElement | null>(null);
    let barChart: { el: HTMLElement; chart: MountedChart } | undefined;
    let lineChart: { el: HTMLElement; chart: MountedChart } | undefined;
    let controller: AbortController | undefined;

    const update = (changes: Partial<Form>) =>
      navigate({ view: 'compare', query: queryOf({ ...form.value, ...changes }) }, { replace: true });

    const run = async () => {
      controller?.abort();
      const asked = apiParams(form.value, Date.now());
      if ('missing' in asked) {
        result.value = { kind: 'missing', what: asked.missing };
        return;
      }
      const { params } = asked;
      const current = new AbortController();
      controller = current;
      result.value = { kind: 'loading' };
      try {
        const answer = await fetchCompare(params, { signal: current.signal });
        if (!current.signal.aborted) result.value = { kind: 'ready', answer, params };
      } catch (error) {
        if (current.signal.aborted) return;
        result.value = { kind: 'failed', failure: failureOf(error) };
      }
    };

    onMounted(() => {
      // Without a query the defaults are written into the URL, so what is shown can be shared as is.
      if (query.value.toString() === '') update({});
      void run();
      fetchKpiDefinitions().then(
        (map) => {
          definitions.value = map;
        },
        () => undefined, // the labels fall back to the API names; the comparison says what failed
      );
      fetchProjects().then(
        (answer) => {
          projects.value = answer;
        },
        () => undefined,
      );
    });
    watch(
      () => query.value.toString(),
      (now, before) => {
        if (now !== before) void run();
      },
    );
    onBeforeUnmount(() => {
      controller?.abort();
      barChart?.chart.dispose();
      lineChart?.chart.dispose();
    });

    const definition = () => definitions.value?.get(form.value.kpi);
    const kpiLabel = (name = form.value.kpi) => {
      const found = definitions.value?.get(name);
      return found ? localized(found.label, lang()) : name;
    };
    const unit = () => definition()?.unit ?? '';

    const siteById = (id: string): LiveSite | undefined => props.feed.sites.get(id);
    const entityName = (entity: CompareEntity) => {
      if (entity.level === 'project') {
        const project = projects.value?.projects.find((p) => p.id === entity.id);
        return project ? projectNameOf(project, lang()) : entity.id;
      }
      const live = siteById(entity.id);
      if (live) return siteNameOf(live, lang());
      const known = projects.value?.projects.flatMap((p) => p.sites).find((s) => s.id === entity.id);
      return known ? siteNameOf(known, lang()) : (entity.name ?? entity.id);
    };
    const projectName = (id: string) => {
      const project = projects.value?.projects.find((p) => p.id === id);
      return project ? projectNameOf(project, lang()) : id;
    };
    const regionText = (regions: string) =>
      regions
        .split(',')
        .map((region) => (REGIONS.includes(region as Region) ? t(`region.${region}`) : region))
        .join(lang() === 'zh' ? '、' : ', ');

    // ---- charts -------------------------------------------------------------------------------

    const barSummary = (answer: CompareAnswer) =>
      t('compare.chartSummary', {
        kpi: kpiLabel(),
        values: answer.entities
          .map(
            (entity) => `${entityName(entity)} ${formatKpi(entity.values[form.value.kpi], unit(), lang())}`,
          )
          .join(lang() === 'zh' ? '；' : '; '),
      });
    const windowText = (answer: CompareAnswer) =>
      t(`compare.windows.${answer.window === '5m' ? '5m' : '1h'}`);
    const trendSummary = (answer: CompareAnswer) =>
      t('compare.trendSummary', {
        kpi: kpiLabel(),
        window: windowText(answer),
        names: answer.entities.map(entityName).join(lang() === 'zh' ? '、' : ', '),
      });

    const barOption = (answer: CompareAnswer): ChartOption => {
      const kpi = form.value.kpi;
      const names = answer.entities.map(entityName);
      return {
        // The description in the page's language (ECharts' own is Chinese only).
        aria: { enabled: true, label: { description: barSummary(answer) } },
        // Drawn at once: an operator screen refreshes often, and nothing moves while it is read.
        animation: false,
        tooltip: { trigger: 'axis' },
        grid: { left: 16, right: 16, top: 36, bottom: 8, containLabel: true },
        xAxis: {
          type: 'category',
          data: names,
          axisLabel: { interval: 0, rotate: names.length > 4 ? 25 : 0, width: 160, overflow: 'truncate' },
        },
        yAxis: { type: 'value', name: unitText(unit(), lang()) },
        series: [
          {
            type: 'bar',
            name: kpiLabel(),
            data: answer.entities.map((entity) => chartValue(entity.values[kpi], unit())),
            itemStyle: { color: '#0b5cad' },
            label: { show: answer.entities.length <= 12, position: 'top' },
          },
        ],
      } as ChartOption;
    };

    const lineOption = (answer: CompareAnswer): ChartOption => {
      const kpi = form.value.kpi;
      const points = answer.entities[0]?.windows.length ?? 0;
      return {
        aria: { enabled: true, label: { description: trendSummary(answer) } },
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', top: 0 },
        grid: { left: 16, right: 24, top: 36, bottom: 40, containLabel: true },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', name: unitText(unit(), lang()) },
        dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 6 }],
        series: answer.entities.map((entity) => ({
          type: 'line',
          name: entityName(entity),
          showSymbol: points <= 48,
          connectNulls: false,
          data: entity.windows.map((w) => [w.start, chartValue(w.values[kpi], unit())]),
        })),
      } as ChartOption;
    };

    const place = (
      slot: { el: HTMLElement; chart: MountedChart } | undefined,
      el: HTMLElement | null,
      option: ChartOption | undefined,
    ) => {
      if (slot && slot.el !== el) {
        slot.chart.dispose();
        slot = undefined;
      }
      if (!el || !option) {
        slot?.chart.dispose();
        return undefined;
      }
      slot ??= { el, chart: mountChart(el) };
      slot.chart.set(option, true);
      return slot;
    };

    watch(
      [barEl, lineEl, result, locale, definitions, projects],
      () => {
        const current = result.value;
        const answer = current.kind === 'ready' && hasValues(current.answer) ? current.answer : undefined;
        barChart = place(barChart, barEl.value, answer && barOption(answer));
        lineChart = place(lineChart, lineEl.value, answer && lineOption(answer));
      },
      { flush: 'post' },
    );

    const hasValues = (answer: CompareAnswer) =>
      answer.entities.some((entity) => {
        const value = entity.values[form.value.kpi];
        return value !== null && value !== undefined;
      });

    // ---- the form -----------------------------------------------------------------------------

    const checkbox = (
      name: string,
      value: string,
      label: string,
      checked: boolean,
      onToggle: (on: boolean) => void,
    ) =>
      h('label', { class: 'check', key: value }, [
        h('input', {
          type: 'checkbox',
          name,
          value,
          checked,
          onChange: (event: Event) => onToggle((event.target as HTMLInputElement).checked),
        }),
        ` ${label}`,
      ]);

    const kpiOptions = () => {
      const names: string[] = [...shownKpis];
      if (!names.includes(form.value.kpi)) names.push(form.value.kpi);
      return names.map((name) => ({ value: name, label: kpiLabel(name) }));
    };

    const siteChoices = () => {
      const all = [...props.feed.sites.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      const chosen = form.value.sites;
      const isOn = (id: string) => chosen === null || chosen.includes(id);
      const toggle = (id: string, on: boolean) => {
        const current = chosen ?? all.map((site) => site.id);
        const next = on ? [...new Set([...current, id])] : current.filter((s) => s !== id);
        update({ sites: next.length === all.length && on ? null : next });
      };
      if (all.length === 0)
        return h(
          'p',
          { class: 'muted', role: 'status' },
          props.feed.status.loaded ? t('compare.noSites') : t('state.loading'),
        );
      return h('div', { class: 'choices' }, [
        ...REGIONS.map((region) => {
          const ofRegion = all.filter((site) => site.region === region);
          if (ofRegion.length === 0) return null;
          return h('fieldset', { class: 'choice-group', key: region, 'data-region': region }, [
            h('legend', t(`region.${region}`)),
            ...ofRegion.map((site) =>
              checkbox('site', site.id, siteNameOf(site, lang()), isOn(site.id), (on) => toggle(site.id, on)),
            ),
          ]);
        }),
        h('div', { class: 'choice-actions' }, [
          h(
            'button',
            { type: 'button', class: 'button small', onClick: () => update({ sites: null }) },
            t('compare.all'),
          ),
          h(
            'button',
            { type: 'button', class: 'button small', onClick: () => update({ sites: [] }) },
            t('compare.none'),
          ),
        ]),
      ]);
    };

    const projectChoices = () => {
      const known = (projects.value?.projects ?? []).filter((project) => project.sites.length > 0);
      const chosen = form.value.projects;
      // A project named in the URL but not (yet) known is still listed, so it can be unchosen.
      const ids = [...new Set([...known.map((p) => p.id), ...(chosen ?? [])])].sort();
      const isOn = (id: string) => chosen === null || chosen.includes(id);
      const toggle = (id: string, on: boolean) => {
        const current = chosen ?? ids;
        const next = on ? [...new Set([...current, id])] : current.filter((p) => p !== id);
        update({ projects: next });
      };
      return h('div', { class: 'choices' }, [
        ids.length === 0
          ? h(
              'p',
              { class: 'muted', role: 'status' },
              projects.value ? t('compare.noProjects') : t('state.loading'),
            )
          : h('fieldset', { class: 'choice-group wide' }, [
              h('legend', t('compare.projects')),
              ...ids.map((id) => checkbox('project', id, projectName(id), isOn(id), (on) => toggle(id, on))),
            ]),
        h('div', { class: 'choice-actions' }, [
          h('label', { class: 'check' }, [
            h('input', {
              type: 'checkbox',
              checked: form.value.split,
              'data-action': 'split',
              onChange: (event: Event) => update({ split: (event.target as HTMLInputElement).checked }),
            }),
            ` ${t('compare.split')}`,
          ]),
          h(
            'button',
            { type: 'button', class: 'button small', onClick: () => update({ projects: null }) },
            t('compare.all'),
          ),
          h(
            'button',
            { type: 'button', class: 'button small', onClick: () => update({ projects: [] }) },
            t('compare.none'),
          ),
        ]),
      ]);
    };

    const formView = () => {
      const current = form.value;
      return h(
        'form',
        {
          class: 'compare-form',
          'aria-label': t('compare.formLabel'),
          onSubmit: (e: Event) => e.preventDefault(),
        },
        [
          h('div', { class: 'form-row' }, [
            selectField({
              id: 'compare-kpi',
              label: t('compare.kpi'),
              value: current.kpi,
              options: kpiOptions(),
              onChange: (kpi) => update({ kpi }),
            }),
            selectField({
              id: 'compare-period',
              label: t('compare.period'),
              value: current.period,
              options: periods.map((period) => ({ value: period, label: t(`compare.periods.${period}`) })),
              onChange: (period) => update({ period: period as Period }),
            }),
            current.period === 'custom'
              ? [
                  h('div', { class: 'field' }, [
                    h('label', { for: 'compare-from' }, t('compare.from')),
                    h('input', {
                      id: 'compare-from',
                      type: 'date',
                      value: current.from,
                      max: current.to,
                      onChange: (event: Event) => update({ from: (event.target as HTMLInputElement).value }),
                    }),
                  ]),
                  h('div', { class: 'field' }, [
                    h('label', { for: 'compare-to' }, t('compare.to')),
                    h('input', {
                      id: 'compare-to',
                      type: 'date',
                      value: current.to,
                      min: current.from,
                      onChange: (event: Event) => update({ to: (event.target as HTMLInputElement).value }),
                    }),
                  ]),
                ]
              : null,
            selectField({
              id: 'compare-window',
              label: t('compare.window'),
              value: current.window,
              options: windows.map((window) => ({ value: window, label: t(`compare.windows.${window}`) })),
              onChange: (window) => update({ window: window as WindowChoice }),
            }),
            h('fieldset', { class: 'field radios' }, [
              h('legend', t('compare.by')),
              ...(['site', 'project'] as const).map((by) =>
                h('label', { class: 'check', key: by }, [
                  h('input', {
                    type: 'radio',
                    name: 'compare-by',
                    value: by,
                    checked: current.by === by,
                    onChange: () => update({ by }),
                  }),
                  ` ${by === 'site' ? t('compare.bySite') : t('compare.byProject')}`,
                ]),
              ),
            ]),
          ]),
          current.by === 'site' ? siteChoices() : projectChoices(),
        ],
      );
    };

    // ---- results ------------------------------------------------------------------------------

    const csvHref = (params: Record<string, string | number>) => {
      const search = new URLSearchParams();
      for (const [key, value] of Object.entries(params)) search.set(key, String(value));
      search.set('format', 'csv');
      return `/api/v1/compare?${search.toString()}`;
    };

    const dateTime = (ms: number) =>
      new Date(ms).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', {
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      });

    const definitionView = () => {
      const found = definition();
      if (!found) return null;
      return h(
        'section',
        { class: 'kpi-definition', 'aria-labelledby': 'kpi-definition-heading', 'data-kpi': found.name },
        [
          h(
            'h2',
            { id: 'kpi-definition-heading' },
            `${t('compare.definition')}: ${localized(found.label, lang())}`,
          ),
          h('p', localized(found.description, lang())),
          h('dl', [
            h('div', [h('dt', t('compare.formula')), h('dd', h('code', found.formula))]),
            h('div', [
              h('dt', t('compare.unit')),
              h('dd', found.unit === '1' ? `1 (${t('compare.ratio')})` : unitText(found.unit, lang())),
            ]),
            h('div', [h('dt', t('compare.reference')), h('dd', found.reference)]),
          ]),
        ],
      );
    };

    const valuesTable = (answer: CompareAnswer) => {
      const kpi = form.value.kpi;
      const projectLevel = answer.level === 'project';
      return h('table', { class: 'kpi-table compare-table' }, [
        h(
          'caption',
          t('compare.tableCaption', {
            kpi: kpiLabel(),
            from: dateTime(answer.from),
            to: dateTime(answer.to + 1),
          }),
        ),
        h('thead', [
          h('tr', [
            h('th', { scope: 'col' }, projectLevel ? t('compare.project') : t('projects.site')),
            h('th', { scope: 'col' }, t('compare.region')),
            projectLevel ? null : h('th', { scope: 'col' }, t('compare.project')),
            h('th', { scope: 'col', class: 'num' }, kpiLabel()),
          ]),
        ]),
        h(
          'tbody',
          answer.entities.map((entity) =>
            h('tr', { key: entity.id, 'data-entity': entity.id }, [
              h('th', { scope: 'row' }, [
                h('span', { class: 'site-title' }, entityName(entity)),
                h('span', { class: 'site-id' }, entity.id),
              ]),
              h('td', regionText(entity.region)),
              projectLevel ? null : h('td', projectName(entity.project)),
              h(
                'td',
                { class: 'num', 'data-value': entity.values[kpi] ?? '' },
                formatKpi(entity.values[kpi], unit(), lang()),
              ),
            ]),
          ),
        ),
      ]);
    };

    const trendTable = (answer: CompareAnswer) => {
      const kpi = form.value.kpi;
      const starts = answer.entities[0]?.windows.map((w) => w.start) ?? [];
      return h('details', { class: 'trend-table' }, [
        h('summary', t('compare.trendTable')),
        // Focusable, so the figures can be scrolled from the keyboard.
        h(
          'div',
          {
            class: 'table-scroll tall',
            tabindex: 0,
            role: 'region',
            'aria-label': t('compare.trendCaption', { kpi: kpiLabel() }),
          },
          [
            h('table', { class: 'kpi-table' }, [
              h('caption', { class: 'visually-hidden' }, t('compare.trendCaption', { kpi: kpiLabel() })),
              h('thead', [
                h('tr', [
                  h('th', { scope: 'col' }, t('compare.windowStart')),
                  ...answer.entities.map((entity) =>
                    h('th', { scope: 'col', class: 'num', key: entity.id }, entityName(entity)),
                  ),
                ]),
              ]),
              h(
                'tbody',
                starts.map((start, index) =>
                  h('tr', { key: start }, [
                    h('th', { scope: 'row' }, dateTime(start)),
                    ...answer.entities.map((entity) =>
                      h(
                        'td',
                        { class: 'num', key: entity.id },
                        formatKpi(entity.windows[index]?.values[kpi], unit(), lang()),
                      ),
                    ),
                  ]),
                ),
              ),
            ]),
          ],
        ),
      ]);
    };

    const resultsView = (): VNode | VNode[] => {
      const current = result.value;
      switch (current.kind) {
        case 'idle':
        case 'loading':
          return h(StatePanel, { kind: 'loading', title: t('compare.loading') });
        case 'missing':
          return h(StatePanel, {
            kind: 'empty',
            title: current.what === 'site' ? t('compare.chooseSite') : t('compare.chooseProject'),
          });
        case 'failed':
          // The API's 400 names what to change in the form: no retry of the same question.
          return h(FailurePanel, {
            failure: current.failure,
            describe: (message: string) => t('compare.invalid', { message }),
            retry: current.failure.kind === 'unreachable',
            onRetry: () => void run(),
          });
        case 'ready': {
          const { answer, params } = current;
          if (answer.entities.length === 0)
            return h(StatePanel, { kind: 'empty', title: t('compare.noEntities') });
          if (!hasValues(answer))
            return [
              h(StatePanel, { kind: 'empty', title: t('compare.noData'), hint: t('compare.noDataHint') }),
              definitionView(),
            ].filter((node): node is VNode => node !== null);
          return h('div', { class: 'compare-results', 'data-level': answer.level }, [
            h('div', { class: 'compare-charts' }, [
              h('figure', { class: 'chart-figure' }, [
                h('figcaption', t('compare.barsTitle', { kpi: kpiLabel() })),
                h('div', {
                  ref: barEl,
                  class: 'chart chart-bars',
                  'data-chart': 'bars',
                  role: 'img',
                  'aria-label': barSummary(answer),
                }),
              ]),
              h('figure', { class: 'chart-figure' }, [
                h(
                  'figcaption',
                  t('compare.trendTitle', {
                    kpi: kpiLabel(),
                    window: windowText(answer),
                  }),
                ),
                h('div', {
                  ref: lineEl,
                  class: 'chart chart-trend',
                  'data-chart': 'trend',
                  role: 'img',
                  'aria-label': trendSummary(answer),
                }),
              ]),
            ]),
            h('div', { class: 'compare-side' }, [
              h('div', { class: 'export' }, [
                h(
                  'a',
                  {
                    class: 'button primary',
                    href: csvHref(params),
                    download: `jjj-compare-${form.value.kpi}.csv`,
                    'data-action': 'export-csv',
                  },
                  t('compare.exportCsv'),
                ),
              ]),
              valuesTable(answer),
              definitionView(),
              trendTable(answer),
            ]),
          ]);
        }
      }
    };

    return () =>
      h('section', { class: 'view compare-view' }, [
        h('h1', t('compare.heading')),
        formView(),
        h(
          'section',
          {
            class: 'compare-output',
            'aria-label': t('compare.results'),
            'aria-busy': result.value.kind === 'loading',
          },
          [resultsView()],
        ),
      ]);
  },
});
