/**
 * Data health (`#/health`): where data goes missing. Sites' bad points and completeness come from
 * the live feed; gateways (`GET /api/v1/gateways`), their sequence gaps (`GET /api/v1/gaps?gateway=`,
 * for the gateways missing batches) and dead letters (`GET /api/v1/dead-letters?limit=&reason=`) are
 * read when the view opens, every 10 s while it is open, and on the refresh button. Every list is
 * sorted worst first; states (loading, empty, error, not permitted) are said in words.
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
import { type Failure, failureOf, getJson } from '../api.js';
import { FailurePanel, failureLine, StatePanel } from '../components/StatePanel.js';
import { ageOf, completenessLevel, percentOf, siteNameOf } from '../format.js';
import type { LiveSite, SiteState } from '../live.js';
import { hrefOf } from '../router.js';
import './health.css';
import { REJECT_REASONS } from '../reject-reasons.js';
import { viewProps } from './view-props.js';

/** `GET /api/v1/gateways`, one gateway. */
export interface GatewayHealth {
  id: string;
  site: string;
  state: 'online' | 'offline' | null;
  boot: number;
  lastSeq: number | null;
  lastSeen: number | null;
  batches: number;
  missingBatches: number;
}

/** `GET /api/v1/gaps`: runs of seq numbers of one boot that never arrived, inclusive; newest first. */
export interface GapsAnswer {
  gateway: string;
  gaps: { boot: number; fromSeq: number; toSeq: number }[];
  /** More gaps than the limit asked. */
  truncated: boolean;
}

/** `GET /api/v1/dead-letters`, one message. */
export interface DeadLetter {
  id: number;
  receivedAt: number;
  topic: string;
  reason: string;
  detail: string;
  payloadPreview: string;
  payloadSize: number;
}

const REFRESH_MS = 10_000;
const DEAD_LETTER_LIMIT = 50;
/** Gaps are read for at most this many gateways (those missing the most), each list cut at GAPS_SHOWN. */
const GAP_GATEWAYS = 20;
const GAPS_SHOWN = 20;

/** Offline (or without status) first, then most missing batches, then longest unseen. */
export function gatewaysWorstFirst(gateways: GatewayHealth[]): GatewayHealth[] {
  const rank = (gateway: GatewayHealth) => (gateway.state === 'online' ? 1 : 0);
  return [...gateways].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      b.missingBatches - a.missingBatches ||
      (a.lastSeen ?? 0) - (b.lastSeen ?? 0) ||
      a.id.localeCompare(b.id),
  );
}

/** Lowest completeness first (none counts as complete), then most bad, then most uncertain points. */
export function sitesWorstFirst(sites: Iterable<LiveSite>): LiveSite[] {
  const stateRank: Record<SiteState, number> = { offline: 0, stale: 1, online: 2 };
  return [...sites].sort(
    (a, b) =>
      (a.completeness ?? 1) - (b.completeness ?? 1) ||
      (b.badPoints ?? 0) - (a.badPoints ?? 0) ||
      (b.uncertainPoints ?? 0) - (a.uncertainPoints ?? 0) ||
      stateRank[a.state] - stateRank[b.state] ||
      a.id.localeCompare(b.id),
  );
}

interface Loaded {
  gateways: GatewayHealth[];
  gaps: Map<string, GapsAnswer>;
  deadLetters: DeadLetter[];
  /** The reason the dead letters were read for ('' for all). */
  reason: string;
  at: number;
}

export const HealthView = defineComponent({
  name: 'HealthView',
  props: viewProps,
  setup(props) {
    const { t, locale } = useI18n();
    const loaded = shallowRef<Loaded>();
    const failure = shallowRef<Failure>();
    const busy = ref(false);
    const reason = ref('');
    const now = ref(Date.now());
    let timer: ReturnType<typeof setInterval> | undefined;
    let ticker: ReturnType<typeof setInterval> | undefined;
    let generation = 0;

    const load = async () => {
      const mine = ++generation;
      busy.value = true;
      const asked = reason.value;
      try {
        const [gateways, deadLetters] = await Promise.all([
          getJson<GatewayHealth[]>('/api/v1/gateways'),
          getJson<DeadLetter[]>('/api/v1/dead-letters', {
            limit: DEAD_LETTER_LIMIT,
            reason: asked === '' ? undefined : asked,
          }),
        ]);
        const missing = gateways
          .filter((gateway) => gateway.missingBatches > 0)
          .sort((a, b) => b.missingBatches - a.missingBatches)
          .slice(0, GAP_GATEWAYS);
        const answers = await Promise.all(
          missing.map((gateway) =>
            getJson<GapsAnswer>('/api/v1/gaps', { gateway: gateway.id, limit: GAPS_SHOWN }),
          ),
        );
        if (mine !== generation) return;
        loaded.value = {
          gateways: gatewaysWorstFirst(gateways),
          gaps: new Map(answers.map((answer) => [answer.gateway, answer])),
          deadLetters,
          reason: asked,
          at: Date.now(),
        };
        failure.value = undefined;
      } catch (error) {
        if (mine !== generation) return;
        failure.value = failureOf(error);
      } finally {
        if (mine === generation) busy.value = false;
      }
    };

    onMounted(() => {
      void load();
      timer = setInterval(() => void load(), REFRESH_MS);
      ticker = setInterval(() => {
        now.value = Date.now();
      }, 1000);
    });
    onBeforeUnmount(() => {
      generation++;
      clearInterval(timer);
      clearInterval(ticker);
    });
    watch(reason, () => void load());

    const sites = computed(() => sitesWorstFirst(props.feed.sites.values()));
    const siteName = (site: LiveSite) => siteNameOf(site, locale.value);
    const siteNameById = (id: string) => {
      const site = props.feed.sites.get(id);
      return site ? siteName(site) : id;
    };
    const ageText = (ts: number | null) => {
      if (ts === null) return t('health.never');
      const { unit, n } = ageOf(ts, now.value);
      return t(`age.${unit}`, { n });
    };
    const timeText = (ts: number) => new Date(ts).toLocaleString(locale.value === 'zh' ? 'zh-CN' : 'en');
    const col = (text: string, numeric = false) =>
      h('th', { scope: 'col', class: numeric ? 'num' : undefined }, text);

    const sitesSection = () =>
      h('section', { class: 'health-block', 'aria-labelledby': 'health-sites', 'data-block': 'sites' }, [
        h('h2', { id: 'health-sites' }, t('health.sitesHeading')),
        !props.feed.status.loaded
          ? h('p', { class: 'health-empty', role: 'status' }, t('health.sitesLoading'))
          : sites.value.length === 0
            ? h('p', { class: 'health-empty' }, t('health.sitesEmpty'))
            : h('table', { class: 'health-table' }, [
                h('caption', { class: 'visually-hidden' }, t('health.sitesCaption')),
                h('thead', [
                  h('tr', [
                    col(t('health.site')),
                    col(t('health.state')),
                    col(t('health.badPoints'), true),
                    col(t('health.uncertainPoints'), true),
                    col(t('health.completeness'), true),
                  ]),
                ]),
                h(
                  'tbody',
                  sites.value.map((site) =>
                    h('tr', { key: site.id, 'data-site': site.id }, [
                      h('th', { scope: 'row' }, [
                        h('a', { href: hrefOf({ view: 'site', site: site.id }) }, siteName(site)),
                        h('span', { class: 'health-id' }, site.id),
                      ]),
                      h('td', { 'data-field': 'state' }, t(`siteState.${site.state}`)),
                      h(
                        'td',
                        { class: ['num', { 'quality-bad': site.badPoints > 0 }], 'data-field': 'bad' },
                        String(site.badPoints ?? 0),
                      ),
                      h(
                        'td',
                        {
                          class: ['num', { 'quality-uncertain': site.uncertainPoints > 0 }],
                          'data-field': 'uncertain',
                        },
                        String(site.uncertainPoints ?? 0),
                      ),
                      h(
                        'td',
                        {
                          class: [
                            'num',
                            site.completeness === null
                              ? 'completeness-none'
                              : `completeness-${completenessLevel(site.completeness)}`,
                          ],
                          'data-field': 'completeness',
                        },
                        site.completeness === null
                          ? t('overview.completenessNone')
                          : percentOf(site.completeness, locale.value),
                      ),
                    ]),
                  ),
                ),
              ]),
      ]);

    const gatewaysSection = (data: Loaded) =>
      h(
        'section',
        { class: 'health-block', 'aria-labelledby': 'health-gateways', 'data-block': 'gateways' },
        [
          h('h2', { id: 'health-gateways' }, t('health.gatewaysHeading')),
          data.gateways.length === 0
            ? h('p', { class: 'health-empty' }, t('health.gatewaysEmpty'))
            : h('table', { class: 'health-table' }, [
                h('caption', { class: 'visually-hidden' }, t('health.gatewaysCaption')),
                h('thead', [
                  h('tr', [
                    col(t('health.gateway')),
                    col(t('health.site')),
                    col(t('health.state')),
                    col(t('health.lastSeen')),
                    col(t('health.boot'), true),
                    col(t('health.lastSeq'), true),
                    col(t('health.batches'), true),
                    col(t('health.missing'), true),
                  ]),
                ]),
                h(
                  'tbody',
                  data.gateways.map((gateway) =>
                    h('tr', { key: gateway.id, 'data-gateway': gateway.id }, [
                      h('th', { scope: 'row', class: 'mono' }, gateway.id),
                      h('td', [
                        h(
                          'a',
                          { href: hrefOf({ view: 'site', site: gateway.site }) },
                          siteNameById(gateway.site),
                        ),
                      ]),
                      h(
                        'td',
                        { 'data-field': 'state', class: `gateway-${gateway.state ?? 'unknown'}` },
                        t(`health.gatewayState.${gateway.state ?? 'unknown'}`),
                      ),
                      h('td', { class: 'age' }, ageText(gateway.lastSeen)),
                      h('td', { class: 'num' }, String(gateway.boot)),
                      h(
                        'td',
                        { class: 'num' },
                        gateway.lastSeq === null ? t('health.none') : String(gateway.lastSeq),
                      ),
                      h('td', { class: 'num', 'data-field': 'batches' }, String(gateway.batches)),
                      h(
                        'td',
                        {
                          class: ['num', { 'quality-bad': gateway.missingBatches > 0 }],
                          'data-field': 'missing',
                        },
                        String(gateway.missingBatches),
                      ),
                    ]),
                  ),
                ),
              ]),
        ],
      );

    const gapsSection = (data: Loaded) => {
      const withGaps = data.gateways
        .filter((gateway) => data.gaps.has(gateway.id))
        .sort((a, b) => b.missingBatches - a.missingBatches);
      const missingAny = data.gateways.filter((gateway) => gateway.missingBatches > 0).length;
      return h('section', { class: 'health-block', 'aria-labelledby': 'health-gaps', 'data-block': 'gaps' }, [
        h('h2', { id: 'health-gaps' }, t('health.gapsHeading')),
        withGaps.length === 0
          ? h('p', { class: 'health-empty', 'data-empty': 'gaps' }, t('health.gapsNone'))
          : h('div', { class: 'gap-list' }, [
              missingAny > withGaps.length
                ? h('p', { class: 'health-note' }, t('health.gapsLimited', { n: withGaps.length }))
                : null,
              ...withGaps.map((gateway) => {
                const { gaps = [], truncated = false } = data.gaps.get(gateway.id) ?? {};
                return h('div', { class: 'gap-gateway', key: gateway.id, 'data-gaps-of': gateway.id }, [
                  h(
                    'h3',
                    t('health.gapsOf', {
                      gateway: gateway.id,
                      site: siteNameById(gateway.site),
                      missing: gateway.missingBatches,
                    }),
                  ),
                  h('table', { class: 'health-table gaps' }, [
                    h(
                      'caption',
                      { class: 'visually-hidden' },
                      t('health.gapsCaption', { gateway: gateway.id }),
                    ),
                    h('thead', [
                      h('tr', [
                        col(t('health.boot'), true),
                        col(t('health.gapRange')),
                        col(t('health.gapCount'), true),
                      ]),
                    ]),
                    h(
                      'tbody',
                      gaps.map((gap) =>
                        h(
                          'tr',
                          {
                            key: `${gap.boot}-${gap.fromSeq}`,
                            'data-gap': `${gap.boot}:${gap.fromSeq}-${gap.toSeq}`,
                          },
                          [
                            h('td', { class: 'num' }, String(gap.boot)),
                            h(
                              'td',
                              { class: 'mono', 'data-field': 'range' },
                              `${gap.fromSeq} – ${gap.toSeq}`,
                            ),
                            h(
                              'td',
                              { class: 'num', 'data-field': 'count' },
                              String(gap.toSeq - gap.fromSeq + 1),
                            ),
                          ],
                        ),
                      ),
                    ),
                  ]),
                  truncated
                    ? h('p', { class: 'health-note' }, t('health.gapsMore', { n: gaps.length }))
                    : null,
                ]);
              }),
            ]),
      ]);
    };

    const deadSection = (data: Loaded) =>
      h(
        'section',
        { class: 'health-block', 'aria-labelledby': 'health-dead', 'data-block': 'dead-letters' },
        [
          h('div', { class: 'health-block-head' }, [
            h('h2', { id: 'health-dead' }, t('health.deadHeading')),
            h('label', { class: 'reason-filter' }, [
              h('span', t('health.reason')),
              h(
                'select',
                {
                  value: reason.value,
                  'data-action': 'filter-reason',
                  onChange: (event: Event) => {
                    reason.value = (event.target as HTMLSelectElement).value;
                  },
                },
                [
                  h('option', { value: '' }, t('health.allReasons')),
                  ...REJECT_REASONS.map((code) => h('option', { value: code }, code)),
                ],
              ),
            ]),
          ]),
          data.deadLetters.length === 0
            ? h(
                'p',
                { class: 'health-empty', 'data-empty': 'dead-letters' },
                data.reason === ''
                  ? t('health.deadNone')
                  : t('health.deadNoneOfReason', { reason: data.reason }),
              )
            : h('div', [
                h('p', { class: 'health-note' }, t('health.shown', { n: data.deadLetters.length })),
                h('table', { class: 'health-table dead' }, [
                  h('caption', { class: 'visually-hidden' }, t('health.deadCaption')),
                  h('thead', [
                    h('tr', [
                      col(t('health.time')),
                      col(t('health.reason')),
                      col(t('health.topic')),
                      col(t('health.detail')),
                      col(t('health.payload')),
                    ]),
                  ]),
                  h(
                    'tbody',
                    data.deadLetters.map((letter) =>
                      h(
                        'tr',
                        { key: letter.id, 'data-dead-letter': letter.id, 'data-reason': letter.reason },
                        [
                          h('td', { class: 'nowrap' }, timeText(letter.receivedAt)),
                          h('td', { class: 'mono', 'data-field': 'reason' }, letter.reason),
                          h('td', { class: 'mono wrap' }, letter.topic),
                          h('td', { class: 'wrap', 'data-field': 'detail' }, letter.detail),
                          h('td', { class: 'payload' }, [
                            h('details', [
                              h('summary', [
                                h('span', { class: 'visually-hidden' }, `${t('health.showPayload')}: `),
                                h('code', letter.payloadPreview.slice(0, 40) || t('health.none')),
                                ' ',
                                h(
                                  'span',
                                  { class: 'payload-size' },
                                  t('health.payloadSize', { n: letter.payloadSize }),
                                ),
                              ]),
                              h('pre', letter.payloadPreview),
                            ]),
                          ]),
                        ],
                      ),
                    ),
                  ),
                ]),
              ]),
        ],
      );

    return () => {
      const data = loaded.value;
      const failed = failure.value;
      const head = h('div', { class: 'health-head' }, [
        h('div', [h('h1', t('health.heading')), h('p', { class: 'health-intro' }, t('health.intro'))]),
        h('div', { class: 'health-actions' }, [
          data
            ? h(
                'p',
                { class: 'health-updated', role: 'status' },
                t('health.updated', {
                  time: new Date(data.at).toLocaleTimeString(locale.value === 'zh' ? 'zh-CN' : 'en'),
                }),
              )
            : null,
          h(
            'button',
            {
              type: 'button',
              class: 'button',
              disabled: busy.value,
              'data-action': 'refresh',
              onClick: () => void load(),
            },
            busy.value ? t('health.refreshing') : t('health.refresh'),
          ),
        ]),
      ]);
      let body: VNode;
      if (!data) {
        body = !failed
          ? h(StatePanel, { kind: 'loading', title: t('state.loading') })
          : h(FailurePanel, { failure: failed, onRetry: () => void load() });
      } else {
        body = h('div', { class: 'health-grid' }, [
          failed
            ? h(
                'p',
                { class: 'health-warning', role: 'alert' },
                t('health.staleData', {
                  message: failureLine(failed, t),
                  time: new Date(data.at).toLocaleTimeString(locale.value === 'zh' ? 'zh-CN' : 'en'),
                }),
              )
            : null,
          sitesSection(),
          gapsSection(data),
          gatewaysSection(data),
          deadSection(data),
        ]);
      }
      return h('section', { class: 'view health', 'data-loaded': data ? 'true' : undefined }, [head, body]);
    };
  },
});
