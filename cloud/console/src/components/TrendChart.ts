/**
 * One point's trend over a chosen period (15 min … 30 d): raw samples up to an hour, the store's
 * aggregated windows (mean with the min–max band) beyond; bad and uncertain quality drawn as
 * marks and shaded areas of their own, in the legend; zoomable (a zoom much narrower than the
 * period is read again at a finer resolution); the raw periods grow live with the samples the
 * view's 1 s poll brings (`latest`). Beside the chart, a text summary of the same figures.
 */
import { getInstanceByDom } from 'echarts/core';
import {
  computed,
  defineComponent,
  h,
  onBeforeUnmount,
  onMounted,
  type PropType,
  ref,
  shallowRef,
  watch,
} from 'vue';
import { useI18n } from 'vue-i18n';
import { ApiFailure } from '../api.js';
import { type MountedChart, mountChart } from '../charts.js';
import { formatDateTime, formatNumber, formatTime, formatValue } from '../format.js';
import type { LatestPoint } from '../points.js';
import {
  chartOption,
  figuresOf,
  isTextual,
  type Period,
  periodMs,
  periods,
  type Resolution,
  readTrend,
  resolutionFor,
  type TrendData,
  windowMs,
} from '../site/trend.js';

type Phase = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };

/** A zoom narrower than this share of what is shown is read again at a finer resolution. */
const REFINE_BELOW = 0.25;

export const TrendChart = defineComponent({
  name: 'TrendChart',
  props: {
    pointId: { type: String, required: true },
    /** The point's name as shown (the heading). */
    label: { type: String, required: true },
    /** The unit's symbol, or ''. */
    unit: { type: String, default: '' },
    /** The newest sample of the point, from the view's poll. */
    latest: { type: Object as PropType<LatestPoint>, required: false },
  },
  setup(props) {
    const { t, locale } = useI18n();
    const period = ref<Period>('1h');
    const phase = shallowRef<Phase>({ kind: 'loading' });
    const data = shallowRef<TrendData>();
    /** The range being shown when zoomed in and read again finer; undefined for the whole period. */
    const zoom = shallowRef<{ from: number; to: number }>();
    const liveAppends = ref(0);
    const chartElement = ref<HTMLElement>();
    let chart: MountedChart | undefined;
    let reading: AbortController | undefined;
    let refineTimer: ReturnType<typeof setTimeout> | undefined;

    const words = () => ({ yes: t('site.bool.true'), no: t('site.bool.false'), none: t('site.noValue') });
    const periodLabel = () => t(`site.period.${period.value}`);
    const textual = computed(() => data.value?.kind === 'raw' && isTextual(data.value.samples));
    const boolean = computed(
      () =>
        data.value?.kind === 'raw' &&
        data.value.samples.length > 0 &&
        data.value.samples.every((s) => s.value === null || typeof s.value === 'boolean'),
    );

    const read = async (from: number, to: number, resolution: Resolution) => {
      reading?.abort();
      const controller = new AbortController();
      reading = controller;
      phase.value = { kind: 'loading' };
      try {
        const answer = await readTrend(props.pointId, from, to, resolution, controller.signal);
        if (controller.signal.aborted) return;
        data.value = answer;
        phase.value = { kind: 'ready' };
      } catch (error) {
        if (controller.signal.aborted) return;
        const message =
          error instanceof ApiFailure
            ? error.failure.kind === 'error' || error.failure.kind === 'forbidden'
              ? error.failure.message
              : t(error.failure.kind === 'unreachable' ? 'state.unreachable' : 'state.notPermitted')
            : String(error);
        phase.value = { kind: 'error', message };
      }
    };

    const readPeriod = () => {
      zoom.value = undefined;
      const to = Date.now();
      const from = to - periodMs[period.value];
      void read(from, to, resolutionFor(periodMs[period.value]));
    };

    const choose = (next: Period) => {
      if (next === period.value && !zoom.value) return;
      period.value = next;
      readPeriod();
    };

    const description = () => t('site.chart.description', { point: props.label, period: periodLabel() });

    /** Set by a live append: the next draw merges the new data and keeps the user's zoom. */
    let appended = false;

    const draw = () => {
      const current = data.value;
      if (!chart || !current || textual.value) return;
      const option = chartOption(
        current,
        {
          value: t('site.chart.value'),
          mean: t('site.chart.mean'),
          band: t('site.chart.band'),
          uncertain: t('site.chart.uncertain'),
          bad: t('site.chart.bad'),
          description: `${description()}. ${summary()}`,
          unit: props.unit,
        },
        boolean.value,
      );
      if (appended) {
        // Only the data moved on: merged (dataZoom left out), so a zoomed-in view stays zoomed.
        const { dataZoom: _kept, ...moved } = option;
        chart.set(moved);
      } else chart.set(option, true);
      appended = false;
    };

    /** Zoomed much narrower than the data's range: read that range again at a finer resolution. */
    const onZoom = () => {
      const instance = chartElement.value ? getInstanceByDom(chartElement.value) : undefined;
      const current = data.value;
      if (!instance || !current || current.kind !== 'windows') return;
      const zoomOption = (instance.getOption() as { dataZoom?: { startValue?: number; endValue?: number }[] })
        .dataZoom?.[0];
      const from = zoomOption?.startValue;
      const to = zoomOption?.endValue;
      if (from === undefined || to === undefined) return;
      const span = to - from;
      const finer = resolutionFor(span);
      const finerThanNow = finer.kind === 'raw' || windowMs[finer.window] < windowMs[current.window];
      if (span >= (current.to - current.from) * REFINE_BELOW || !finerThanNow) return;
      clearTimeout(refineTimer);
      refineTimer = setTimeout(() => {
        zoom.value = { from: Math.floor(from), to: Math.ceil(to) };
        void read(Math.floor(from), Math.ceil(to), finer);
      }, 400);
    };

    /** A new sample of the point, appended to a raw period that reaches now (not to a zoom). */
    watch(
      () => props.latest,
      (latest) => {
        const current = data.value;
        if (!latest || !current || current.kind !== 'raw' || zoom.value) return;
        const last = current.samples.at(-1);
        if (last && latest.ts <= last.ts) return;
        const to = Math.max(Date.now(), latest.ts);
        const from = to - periodMs[period.value];
        const samples = current.samples.filter((s) => s.ts >= from);
        samples.push({
          ts: latest.ts,
          value: latest.value,
          quality: latest.quality,
          ...(latest.outOfRange && { outOfRange: latest.outOfRange }),
        });
        data.value = { ...current, from, to, samples };
        appended = true;
        liveAppends.value++;
      },
    );

    watch([data, locale, textual], () => draw(), { flush: 'post' });
    watch(
      () => props.pointId,
      () => readPeriod(),
    );

    onMounted(() => {
      readPeriod();
    });
    onBeforeUnmount(() => {
      reading?.abort();
      clearTimeout(refineTimer);
      chart?.dispose();
      chart = undefined;
    });

    /** The chart's element: mounted once, kept while the data changes. */
    const attachChart = (element: unknown) => {
      if (!(element instanceof HTMLElement) || chart) return;
      chartElement.value = element;
      chart = mountChart(element);
      getInstanceByDom(element)?.on('datazoom', onZoom);
      draw();
    };

    const number = (value: number | null) =>
      value === null ? t('site.noValue') : formatNumber(value, locale.value);

    const summary = () => {
      const current = data.value;
      if (!current) return '';
      const f = figuresOf(current);
      const periodText = zoom.value
        ? `${formatDateTime(zoom.value.from, locale.value)} – ${formatDateTime(zoom.value.to, locale.value)}`
        : periodLabel();
      if (textual.value)
        return t('site.chart.textSummary', {
          period: periodText,
          n: f.n,
          bad: f.bad,
          uncertain: f.uncertain,
        });
      if (current.kind === 'raw')
        return t('site.chart.rawSummary', {
          period: periodText,
          n: f.n,
          min: number(f.min),
          max: number(f.max),
          unit: props.unit,
          bad: f.bad,
          gaps: f.gaps,
          uncertain: f.uncertain,
          last: formatValue(f.lastValue, locale.value, words()),
          time: f.lastTs === null ? t('site.noValue') : formatTime(f.lastTs, locale.value),
        });
      return t('site.chart.aggSummary', {
        period: periodText,
        n: f.n,
        window: t(`site.chart.window.${current.window}`),
        min: number(f.min),
        max: number(f.max),
        unit: props.unit,
        bad: f.bad,
        uncertain: f.uncertain,
      });
    };

    const periodButtons = () =>
      h('div', { class: 'trend-periods', role: 'group', 'aria-label': t('site.period.label') }, [
        h('span', { class: 'trend-periods-label', 'aria-hidden': 'true' }, t('site.period.label')),
        ...periods.map((p) =>
          h(
            'button',
            {
              type: 'button',
              class: ['button', 'small', { primary: p === period.value && !zoom.value }],
              'aria-pressed': String(p === period.value && !zoom.value),
              'data-period': p,
              onClick: () => choose(p),
            },
            t(`site.period.${p}`),
          ),
        ),
      ]);

    const textSamples = () => {
      const current = data.value;
      if (current?.kind !== 'raw') return null;
      const recent = current.samples.slice(-10).reverse();
      return h('table', { class: 'points trend-text' }, [
        h('caption', t('site.chart.recent')),
        h('thead', [
          h('tr', [
            h('th', { scope: 'col' }, t('site.col.ts')),
            h('th', { scope: 'col' }, t('site.col.value')),
            h('th', { scope: 'col' }, t('site.col.quality')),
          ]),
        ]),
        h(
          'tbody',
          recent.map((s) =>
            h('tr', { key: s.ts }, [
              h('td', formatTime(s.ts, locale.value)),
              h('td', formatValue(s.value, locale.value, words())),
              h('td', { class: `q-${s.quality}` }, t(`site.quality.${s.quality}`)),
            ]),
          ),
        ),
      ]);
    };

    return () => {
      const current = data.value;
      const f = current ? figuresOf(current) : undefined;
      const state = phase.value;
      const empty = state.kind === 'ready' && f?.n === 0;
      const legend = current
        ? current.kind === 'raw'
          ? ['value', 'uncertain', 'bad']
          : ['mean', 'band', 'uncertain', 'bad']
        : [];
      return h(
        'section',
        {
          class: 'trend',
          'aria-labelledby': `trend-${props.pointId}`,
          'data-trend-state': state.kind === 'ready' ? (empty ? 'empty' : 'ready') : state.kind,
          'data-period': period.value,
          'data-mode': current?.kind ?? '',
          'data-window': current?.kind === 'windows' ? current.window : '',
          'data-zoomed': String(zoom.value !== undefined),
          'data-n': f?.n ?? 0,
          'data-bad': f?.bad ?? 0,
          'data-gaps': f?.gaps ?? 0,
          'data-uncertain': f?.uncertain ?? 0,
          'data-last-ts': f?.lastTs ?? '',
          'data-legend': legend.join(','),
          'data-live-appends': liveAppends.value,
        },
        [
          h('div', { class: 'trend-head' }, [
            h('h2', { id: `trend-${props.pointId}` }, t('site.trendOf', { point: props.label })),
            periodButtons(),
          ]),
          zoom.value
            ? h('p', { class: 'trend-zoom' }, [
                h(
                  'span',
                  t('site.chart.zoomed', {
                    from: formatDateTime(zoom.value.from, locale.value),
                    to: formatDateTime(zoom.value.to, locale.value),
                  }),
                ),
                h(
                  'button',
                  { type: 'button', class: 'button small', onClick: readPeriod },
                  t('site.chart.resetZoom'),
                ),
              ])
            : null,
          state.kind === 'error'
            ? h(
                'p',
                { class: 'trend-note trend-error', role: 'alert' },
                t('site.chart.error', { message: state.message }),
              )
            : null,
          state.kind === 'loading'
            ? h('p', { class: 'trend-note', role: 'status' }, t('site.chart.loading'))
            : null,
          empty ? h('p', { class: 'trend-note', role: 'status' }, t('site.chart.empty')) : null,
          textual.value ? h('p', { class: 'trend-note' }, t('site.chart.textPoint')) : null,
          // Kept in the page while the data changes, so the chart is not rebuilt on every sample.
          h('div', {
            class: ['trend-chart', { hidden: textual.value }],
            ref: attachChart,
            role: 'img',
            'aria-label': description(),
          }),
          current && !empty ? h('p', { class: 'trend-summary', 'data-trend-summary': '' }, summary()) : null,
          current?.truncated
            ? h(
                'p',
                { class: 'trend-note' },
                t('site.chart.truncated', {
                  n: current.kind === 'raw' ? current.samples.length : current.windows.length,
                }),
              )
            : null,
          textual.value ? textSamples() : null,
        ],
      );
    };
  },
});
