/**
 * The regional overview: every site grouped by region (Beijing, Tianjin, Hebei), each with its
 * state, the age of its last data, its points, those in bad or uncertain quality, its completeness
 * over the last hour, gateway and protocols; kept live by the feed. A site's name opens its
 * drill-down. The root carries `data-ready="true"` once the first `sites` event is on screen (the
 * console benchmark's "first view ready").
 */
import { computed, defineComponent, h, onBeforeUnmount, type PropType, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { type Feed, type LiveSite, REGIONS, type Region, type SiteState } from '../live.js';
import { hrefOf } from '../router.js';
import { StatePanel } from './StatePanel.js';
import './overview.css';
import { ageOf, completenessLevel, percentOf, siteNameOf } from '../format.js';

export const RegionalOverview = defineComponent({
  name: 'RegionalOverview',
  props: { feed: { type: Object as PropType<Feed>, required: true } },
  setup(props) {
    const { t, locale } = useI18n();
    const now = ref(Date.now());
    const ticker = setInterval(() => {
      now.value = Date.now();
    }, 1000);
    onBeforeUnmount(() => clearInterval(ticker));

    const byRegion = computed(() => {
      const groups = new Map<Region, LiveSite[]>(REGIONS.map((region) => [region, []]));
      for (const site of props.feed.sites.values()) {
        const group = groups.get(site.region);
        if (group) group.push(site);
        else groups.set(site.region, [site]);
      }
      for (const group of groups.values()) group.sort((a, b) => a.id.localeCompare(b.id));
      return groups;
    });

    const siteName = (site: LiveSite) => siteNameOf(site, locale.value);
    const regionName = (region: string) =>
      REGIONS.includes(region as Region) ? t(`region.${region}`) : region;
    const age = (site: LiveSite) => {
      if (site.lastTs === null) return t('overview.never');
      const { unit, n } = ageOf(site.lastTs, now.value);
      return t(`age.${unit}`, { n });
    };

    const banner = () => {
      const { state, updatedAt } = props.feed.status;
      const text =
        state === 'live'
          ? t('live.live')
          : state === 'reconnecting'
            ? t('live.reconnecting')
            : state === 'busy'
              ? t('live.busy')
              : state === 'forbidden'
                ? t('state.notPermitted')
                : t('live.connecting');
      const time = updatedAt === null ? '' : new Date(updatedAt).toLocaleTimeString(locale.value);
      return h('p', { class: ['feed', `feed-${state}`], role: 'status', 'data-feed': state }, [
        h('span', { class: 'feed-dot', 'aria-hidden': 'true' }),
        h('span', text),
        time && state === 'live' ? h('span', { class: 'feed-time' }, t('live.updated', { time })) : null,
        state === 'reconnecting' || state === 'busy'
          ? h(
              'button',
              { type: 'button', class: 'button small', onClick: () => props.feed.retry() },
              t('state.retry'),
            )
          : null,
      ]);
    };

    /** Bad and uncertain counts in words, not only in colour. */
    const qualityCell = (site: LiveSite) => {
      const bad = site.badPoints ?? 0;
      const uncertain = site.uncertainPoints ?? 0;
      const parts = [
        bad > 0 ? h('span', { class: 'counts-bad' }, t('overview.qualityBad', { n: bad })) : null,
        bad > 0 && uncertain > 0 ? ' · ' : null,
        uncertain > 0
          ? h('span', { class: 'counts-uncertain' }, t('overview.qualityUncertain', { n: uncertain }))
          : null,
      ];
      return h(
        'td',
        { class: 'quality-counts', 'data-field': 'quality', 'data-bad': bad, 'data-uncertain': uncertain },
        bad === 0 && uncertain === 0 ? h('span', { class: 'counts-none' }, t('overview.qualityNone')) : parts,
      );
    };

    const completenessCell = (site: LiveSite) => {
      const ratio = site.completeness ?? null;
      return h(
        'td',
        {
          class: [
            'num',
            'completeness',
            ratio === null ? 'completeness-none' : `completeness-${completenessLevel(ratio)}`,
          ],
          'data-field': 'completeness',
          'data-completeness': ratio === null ? 'none' : String(ratio),
        },
        ratio === null ? t('overview.completenessNone') : percentOf(ratio, locale.value),
      );
    };

    const stateBadge = (state: SiteState) =>
      h('span', { class: ['badge', `badge-${state}`], 'data-site-state': state }, [
        h('span', { class: 'badge-dot', 'aria-hidden': 'true' }),
        t(`siteState.${state}`),
      ]);

    const regionSection = (region: Region | string, sites: LiveSite[]) => {
      const count = (state: SiteState) => sites.filter((site) => site.state === state).length;
      const headingId = `region-${region}`;
      return h('section', { class: 'region', 'aria-labelledby': headingId, 'data-region': region }, [
        h('header', { class: 'region-head' }, [
          h('h2', { id: headingId }, regionName(region)),
          h(
            'p',
            { class: 'region-summary' },
            t('overview.summary', {
              online: count('online'),
              stale: count('stale'),
              offline: count('offline'),
            }),
          ),
        ]),
        sites.length === 0
          ? h('p', { class: 'region-empty' }, t('overview.regionEmpty'))
          : h('table', { class: 'sites' }, [
              h('caption', { class: 'visually-hidden' }, `${regionName(region)} · ${t('overview.sites')}`),
              h('thead', [
                h('tr', [
                  h('th', { scope: 'col' }, t('overview.site')),
                  h('th', { scope: 'col' }, t('overview.status')),
                  h('th', { scope: 'col' }, t('overview.age')),
                  h('th', { scope: 'col', class: 'num' }, t('overview.points')),
                  h('th', { scope: 'col' }, t('overview.quality')),
                  h(
                    'th',
                    { scope: 'col', class: 'num', title: t('overview.completenessTitle') },
                    t('overview.completeness'),
                  ),
                  h('th', { scope: 'col' }, t('overview.gateway')),
                  h('th', { scope: 'col' }, t('overview.protocols')),
                ]),
              ]),
              h(
                'tbody',
                sites.map((site) =>
                  h('tr', { key: site.id, 'data-site': site.id, class: `row-${site.state}` }, [
                    h('th', { scope: 'row', class: 'site-name' }, [
                      h(
                        'a',
                        { class: 'site-title', href: hrefOf({ view: 'site', site: site.id }) },
                        siteName(site),
                      ),
                      h('span', { class: 'site-id' }, site.id),
                    ]),
                    h('td', { 'data-field': 'state' }, stateBadge(site.state)),
                    h('td', { class: 'age', 'data-field': 'age' }, age(site)),
                    h('td', { class: 'num', 'data-field': 'points' }, String(site.points)),
                    qualityCell(site),
                    completenessCell(site),
                    h('td', { class: 'mono', 'data-field': 'gateway' }, site.gateway),
                    h('td', { 'data-field': 'protocols' }, site.protocols.join(', ') || '—'),
                  ]),
                ),
              ),
            ]),
      ]);
    };

    return () => {
      const { status } = props.feed;
      const body = !status.loaded
        ? status.state === 'forbidden'
          ? h(StatePanel, {
              kind: 'forbidden',
              title: t('state.notPermitted'),
              hint: t('state.notPermittedHint'),
            })
          : status.state === 'reconnecting' || status.state === 'busy'
            ? h(StatePanel, {
                kind: 'error',
                title: status.state === 'busy' ? t('live.busy') : t('state.unreachable'),
                hint: t('state.unreachableHint'),
                action: t('state.retry'),
                onAction: () => props.feed.retry(),
              })
            : h(StatePanel, { kind: 'loading', title: t('state.loading') })
        : props.feed.sites.size === 0
          ? h(StatePanel, { kind: 'empty', title: t('overview.empty') })
          : h(
              'div',
              { class: 'regions' },
              [...byRegion.value].map(([region, sites]) => regionSection(region, sites)),
            );
      return h('div', { class: 'overview', 'data-ready': status.loaded ? 'true' : undefined }, [
        h('div', { class: 'overview-head' }, [h('h1', t('overview.heading')), banner()]),
        body,
      ]);
    };
  },
});
