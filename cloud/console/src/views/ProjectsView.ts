/**
 * The demonstration projects (`#/projects`): the network's progress against Column 5's targets
 * (demonstration projects in the network against 10 by 2020 and 20 by 2025, or the configured
 * targets), then one section per project: its name, industry and regions, its sites with their
 * industry, smart factory or digital workshop, live state (from the live feed) and KPIs side by side
 * over the last 24 h. All sites' KPIs come from one `GET /api/v1/compare?level=site` (every site, the
 * last 24 h: the API's defaults), refreshed every minute with the projects.
 */
import { defineComponent, h, onBeforeUnmount, onMounted, shallowRef } from 'vue';
import { useI18n } from 'vue-i18n';
import { type Failure, failureOf } from '../api.js';
import { FailurePanel, failureLine, StatePanel } from '../components/StatePanel.js';
import { siteNameOf } from '../format.js';
import type { Locale } from '../i18n.js';
import { hrefOf } from '../router.js';
import {
  type CompareAnswer,
  type CompareEntity,
  fetchCompare,
  fetchKpiDefinitions,
  fetchProjects,
  formatKpi,
  type KpiDefinition,
  localized,
  type NetworkProject,
  type NetworkSite,
  type ProjectsAnswer,
  projectNameOf,
  shownKpis,
} from './kpi-data.js';
import './projects.css';
import { viewProps } from './view-props.js';

const REFRESH_MS = 60_000;

type Load =
  | { kind: 'loading' }
  | { kind: 'ready'; answer: ProjectsAnswer }
  | { kind: 'failed'; failure: Failure };

type Kpis =
  | { kind: 'loading' }
  | { kind: 'ready'; bySite: Map<string, CompareEntity>; definitions: Map<string, KpiDefinition> }
  | { kind: 'error'; message: string };

export const ProjectsView = defineComponent({
  name: 'ProjectsView',
  props: viewProps,
  setup(props) {
    const { t, locale } = useI18n();
    const load = shallowRef<Load>({ kind: 'loading' });
    const kpis = shallowRef<Kpis>({ kind: 'loading' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;

    const refresh = async () => {
      clearTimeout(timer);
      controller?.abort();
      const current = new AbortController();
      controller = current;
      const projects = fetchProjects({ signal: current.signal });
      const compare = Promise.all([
        fetchCompare({ level: 'site', kpi: shownKpis.join(',') }, { signal: current.signal }),
        fetchKpiDefinitions(),
      ]);
      try {
        load.value = { kind: 'ready', answer: await projects };
      } catch (error) {
        if (current.signal.aborted) return;
        load.value = { kind: 'failed', failure: failureOf(error) };
      }
      try {
        const [answer, definitions]: [CompareAnswer, Map<string, KpiDefinition>] = await compare;
        kpis.value = {
          kind: 'ready',
          bySite: new Map(answer.entities.map((entity) => [entity.id, entity])),
          definitions,
        };
      } catch (error) {
        if (current.signal.aborted) return;
        kpis.value = { kind: 'error', message: failureLine(failureOf(error), t) };
      }
      if (!current.signal.aborted) timer = setTimeout(() => void refresh(), REFRESH_MS);
    };
    onMounted(() => void refresh());
    onBeforeUnmount(() => {
      clearTimeout(timer);
      controller?.abort();
    });

    const lang = () => locale.value as Locale;

    const progress = (answer: ProjectsAnswer) => {
      const n = answer.counts.inNetwork;
      const list = answer.targets
        .map((target) => t('projects.targetItem', { projects: target.projects, year: target.year }))
        .join(lang() === 'zh' ? '，' : ', ');
      return h('section', { class: 'network-progress', 'aria-labelledby': 'network-progress-heading' }, [
        h('h2', { id: 'network-progress-heading' }, t('projects.progressHeading')),
        h(
          'p',
          { class: 'progress-summary', 'data-in-network': n },
          `${t('projects.progress', { n }, n)} — ${t('projects.targets', { list })}`,
        ),
        h(
          'ul',
          { class: 'target-bars' },
          answer.targets.map((target) => {
            const percent = Math.min(100, Math.round((n / target.projects) * 100));
            const text = t('projects.targetBar', {
              year: target.year,
              n,
              projects: target.projects,
              percent,
            });
            return h('li', { 'data-target-year': target.year }, [
              h('span', { class: 'target-text', id: `target-${target.year}` }, [
                text,
                n >= target.projects
                  ? h('strong', { class: 'target-reached' }, ` · ${t('projects.reached')}`)
                  : null,
              ]),
              h('progress', {
                max: target.projects,
                value: Math.min(n, target.projects),
                'aria-labelledby': `target-${target.year}`,
              }),
            ]);
          }),
        ),
        h('p', { class: 'progress-note' }, [
          t('projects.inNetworkNote'),
          ' ',
          t('projects.configured', { n: answer.counts.configured }),
        ]),
      ]);
    };

    const kindOf = (site: NetworkSite) =>
      [
        site.industry ? t(`projects.industries.${site.industry}`) : t('projects.unknown'),
        site.mode ? t(`projects.modes.${site.mode}`) : null,
      ]
        .filter((part): part is string => part !== null)
        .join(' · ');

    const stateBadge = (site: NetworkSite) => {
      const live = props.feed.sites.get(site.id);
      if (!live) return h('span', { class: 'muted', 'data-site-state': 'unknown' }, t('projects.notLive'));
      return h('span', { class: ['badge', `badge-${live.state}`], 'data-site-state': live.state }, [
        h('span', { class: 'badge-dot', 'aria-hidden': 'true' }),
        t(`siteState.${live.state}`),
      ]);
    };

    const kpiHeader = (name: string) => {
      const current = kpis.value;
      const definition = current.kind === 'ready' ? current.definitions.get(name) : undefined;
      return h(
        'th',
        {
          scope: 'col',
          class: 'num',
          'data-kpi': name,
          title: definition ? localized(definition.description, lang()) : undefined,
        },
        definition ? localized(definition.label, lang()) : name,
      );
    };

    const kpiCell = (site: NetworkSite, name: string) => {
      const current = kpis.value;
      if (current.kind !== 'ready') return h('td', { class: 'num', 'data-kpi': name }, '…');
      const unit = current.definitions.get(name)?.unit ?? '';
      const value = current.bySite.get(site.id)?.values[name];
      return h('td', { class: 'num', 'data-kpi': name }, formatKpi(value, unit, lang()));
    };

    const sitesTable = (project: NetworkProject) =>
      // Focusable, so a narrow screen can scroll the table from the keyboard.
      h(
        'div',
        {
          class: 'table-scroll',
          tabindex: 0,
          role: 'region',
          'aria-label': t('projects.kpisCaption', { project: projectNameOf(project, lang()) }),
        },
        [
          h('table', { class: 'kpi-table' }, [
            h(
              'caption',
              { class: 'visually-hidden' },
              t('projects.kpisCaption', { project: projectNameOf(project, lang()) }),
            ),
            h('thead', [
              h('tr', [
                h('th', { scope: 'col', class: 'col-site' }, t('projects.site')),
                h('th', { scope: 'col' }, t('projects.region')),
                h('th', { scope: 'col' }, t('projects.kind')),
                h('th', { scope: 'col' }, t('projects.state')),
                ...shownKpis.map(kpiHeader),
              ]),
            ]),
            h(
              'tbody',
              project.sites.map((site) => {
                const name = siteNameOf(site, lang());
                return h('tr', { key: site.id, 'data-site': site.id }, [
                  h('th', { scope: 'row', class: 'site-name' }, [
                    h(
                      'a',
                      {
                        href: hrefOf({ view: 'site', site: site.id }),
                        class: 'site-title',
                        'aria-label': t('projects.openSite', { site: name }),
                      },
                      name,
                    ),
                    h('span', { class: 'site-id' }, site.id),
                  ]),
                  h('td', { 'data-region': site.region }, [
                    t(`region.${site.region}`),
                    site.city ? h('span', { class: 'site-id' }, localized(site.city, lang())) : null,
                  ]),
                  h('td', { class: 'site-kind' }, kindOf(site)),
                  h('td', stateBadge(site)),
                  ...shownKpis.map((kpi) => kpiCell(site, kpi)),
                ]);
              }),
            ),
          ]),
        ],
      );

    const projectSection = (project: NetworkProject) => {
      const headingId = `project-${project.id}`;
      return h(
        'section',
        { key: project.id, class: 'project', 'aria-labelledby': headingId, 'data-project': project.id },
        [
          h('header', { class: 'project-head' }, [
            h('div', [
              h('h2', { id: headingId }, projectNameOf(project, lang())),
              h('span', { class: 'site-id' }, project.id),
            ]),
            project.sites.length > 0
              ? h(
                  'a',
                  {
                    class: 'button',
                    href: hrefOf({ view: 'compare', query: new URLSearchParams({ projects: project.id }) }),
                    'data-action': 'compare-project',
                  },
                  t('projects.compare'),
                )
              : null,
          ]),
          h('dl', { class: 'project-facts' }, [
            h('div', [
              h('dt', t('projects.industry')),
              h(
                'dd',
                { 'data-fact': 'industry' },
                project.industry ? t(`projects.industries.${project.industry}`) : t('projects.unknown'),
              ),
            ]),
            h('div', [
              h('dt', t('projects.regions')),
              h(
                'dd',
                { 'data-fact': 'regions' },
                project.regions.length > 0
                  ? project.regions.map((region) => t(`region.${region}`)).join(lang() === 'zh' ? '、' : ', ')
                  : '—',
              ),
            ]),
            h('div', [
              h('dt', t('overview.sites')),
              h(
                'dd',
                { 'data-fact': 'sites' },
                t('projects.sitesCount', { n: project.sites.length }, project.sites.length),
              ),
            ]),
          ]),
          project.summary ? h('p', { class: 'project-summary' }, project.summary) : null,
          project.sites.length === 0
            ? h('p', { class: 'muted', 'data-no-sites': '' }, t('projects.noSites'))
            : sitesTable(project),
        ],
      );
    };

    const kpiNotice = () => {
      const current = kpis.value;
      if (current.kind === 'error')
        return h(
          'p',
          { class: 'form-error', role: 'alert' },
          t('projects.kpisFailed', { message: current.message }),
        );
      if (current.kind === 'loading')
        return h('p', { class: 'muted', role: 'status' }, t('projects.kpisLoading'));
      return h('p', { class: 'muted' }, t('projects.kpisNote'));
    };

    return () => {
      const current = load.value;
      const body = (() => {
        switch (current.kind) {
          case 'loading':
            return h(StatePanel, { kind: 'loading', title: t('state.loading') });
          case 'failed':
            return h(FailurePanel, { failure: current.failure, onRetry: () => void refresh() });
          case 'ready':
            return [
              progress(current.answer),
              current.answer.projects.length === 0
                ? h(StatePanel, { kind: 'empty', title: t('projects.empty') })
                : [kpiNotice(), h('div', { class: 'projects' }, current.answer.projects.map(projectSection))],
            ];
        }
      })();
      return h('section', { class: 'view projects-view' }, [h('h1', t('projects.heading')), body]);
    };
  },
});
