/**
 * `#/commands` (operators and admins; the shell shows "not permitted" to a viewer): a point picker
 * (site, then its writable points from `GET /api/v1/points`) opening the command form with the
 * point's newest value, and the audit list from `GET /api/v1/commands` (the picked site's, or every
 * site's), refreshed after each command and every 10 s.
 */
import { computed, defineComponent, h, onBeforeUnmount, onMounted, ref, shallowRef, type VNode } from 'vue';
import { useI18n } from 'vue-i18n';
import { type Failure, failureOf } from '../api.js';
import { type CommandRecord, fetchCommands, type SendOutcome } from '../commands.js';
import { CommandForm } from '../components/CommandForm.js';
import { FailurePanel, StatePanel } from '../components/StatePanel.js';
import { siteNameOf } from '../format.js';
import { type LiveSite, REGIONS } from '../live.js';
import { fetchLatest, fetchPoints, type LatestPoint, type PointInfo } from '../points.js';
import './commands.css';
import { selectField } from '../components/select-field.js';
import { viewProps } from './view-props.js';

const AUDIT_REFRESH_MS = 10_000;
const AUDIT_LIMIT = 50;

type Load<T> =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'ready'; data: T }
  | { kind: 'failed'; failure: Failure };

export const CommandsView = defineComponent({
  name: 'CommandsView',
  props: viewProps,
  setup(props) {
    const { t, locale } = useI18n();
    const site = ref('');
    const pointId = ref('');
    const points = shallowRef<Load<PointInfo[]>>({ kind: 'idle' });
    const latest = shallowRef<Map<string, LatestPoint>>(new Map());
    const audit = shallowRef<Load<CommandRecord[]>>({ kind: 'loading' });
    let auditTimer: ReturnType<typeof setInterval> | undefined;
    let latestTimer: ReturnType<typeof setTimeout> | undefined;
    let auditAsked = 0;
    let pointsAsked = 0;

    const sites = computed(() =>
      [...props.feed.sites.values()].sort(
        (a, b) => REGIONS.indexOf(a.region) - REGIONS.indexOf(b.region) || a.id.localeCompare(b.id),
      ),
    );
    const siteName = (id: string) => {
      const known: LiveSite | undefined = props.feed.sites.get(id);
      return known ? siteNameOf(known, locale.value) : id;
    };
    const writable = computed(() =>
      points.value.kind === 'ready' ? points.value.data.filter((point) => point.writable === true) : [],
    );
    const picked = computed(() => writable.value.find((point) => point.pointId === pointId.value));

    const loadAudit = async () => {
      const asked = ++auditAsked;
      try {
        const data = await fetchCommands(site.value === '' ? undefined : site.value, AUDIT_LIMIT);
        if (asked === auditAsked) audit.value = { kind: 'ready', data };
      } catch (error) {
        if (asked === auditAsked) audit.value = { kind: 'failed', failure: failureOf(error) };
      }
    };
    const loadLatest = async () => {
      const forSite = site.value;
      if (forSite === '') return;
      try {
        const values = await fetchLatest(forSite);
        if (forSite === site.value) latest.value = new Map(values.map((value) => [value.pointId, value]));
      } catch {
        // the form shows "no value yet"; the points' own load reports failures
      }
    };
    const loadPoints = async () => {
      const forSite = site.value;
      const asked = ++pointsAsked;
      pointId.value = '';
      latest.value = new Map();
      if (forSite === '') {
        points.value = { kind: 'idle' };
        return;
      }
      points.value = { kind: 'loading' };
      try {
        const data = await fetchPoints(forSite);
        if (asked !== pointsAsked) return;
        points.value = { kind: 'ready', data };
        const only = data.filter((point) => point.writable === true);
        if (only.length === 1) pointId.value = only[0]?.pointId ?? '';
        await loadLatest();
      } catch (error) {
        if (asked === pointsAsked) points.value = { kind: 'failed', failure: failureOf(error) };
      }
    };

    const pickSite = (id: string) => {
      site.value = id;
      void loadPoints();
      audit.value = { kind: 'loading' };
      void loadAudit();
    };

    const onSent = (_outcome: SendOutcome) => {
      void loadAudit();
      // The gateway publishes the new value on its next poll: ask again shortly after.
      void loadLatest();
      clearTimeout(latestTimer);
      latestTimer = setTimeout(() => void loadLatest(), 2000);
    };

    onMounted(() => {
      void loadAudit();
      auditTimer = setInterval(() => void loadAudit(), AUDIT_REFRESH_MS);
    });
    onBeforeUnmount(() => {
      clearInterval(auditTimer);
      clearTimeout(latestTimer);
    });

    const pointLabel = (point: PointInfo) =>
      `${point.line}/${point.equipment}/${point.point}${point.description ? ` — ${point.description}` : ''}`;

    const picker = () => {
      const state = points.value;
      let body: VNode | null = null;
      if (site.value === '') body = h('p', { class: 'muted' }, t('commands.pick.chooseSite'));
      else if (state.kind === 'loading')
        body = h(StatePanel, { kind: 'loading', title: t('commands.pick.loading') });
      else if (state.kind === 'failed')
        body = h(FailurePanel, { failure: state.failure, onRetry: () => void loadPoints() });
      else if (state.kind === 'ready' && writable.value.length === 0)
        body = h(StatePanel, { kind: 'empty', title: t('commands.pick.none') });
      else if (state.kind === 'ready')
        body = selectField({
          id: 'command-point',
          label: t('commands.pick.point'),
          value: pointId.value,
          options: writable.value.map((point) => ({ value: point.pointId, label: pointLabel(point) })),
          onChange: (value) => {
            pointId.value = value;
            void loadLatest();
          },
          placeholder: t('commands.pick.choose'),
        });
      const point = picked.value;
      return h('section', { class: 'panel command-picker', 'aria-labelledby': 'command-pick-h' }, [
        h('h2', { id: 'command-pick-h' }, t('commands.pick.heading')),
        selectField({
          id: 'command-site',
          label: t('commands.pick.site'),
          value: site.value,
          options: sites.value.map((known) => ({
            value: known.id,
            label: `${siteName(known.id)} (${known.id})`,
          })),
          onChange: pickSite,
          placeholder: t('commands.pick.choose'),
        }),
        body,
        point
          ? h(CommandForm, {
              key: point.pointId,
              site: site.value,
              point,
              current: latest.value.get(point.pointId),
              onSent,
              onDone: () => {
                pointId.value = '';
                document.getElementById('command-point')?.focus();
              },
            })
          : null,
      ]);
    };

    const timeText = (ts: number) => new Date(ts).toLocaleString(locale.value === 'zh' ? 'zh-CN' : 'en-GB');
    const writeText = (command: CommandRecord) =>
      command.writes.map(
        (write) => `${write.line}/${write.equipment}/${write.point} = ${JSON.stringify(write.value)}`,
      );
    const resultCells = (command: CommandRecord) => {
      if (!command.ack) return [h('span', { class: 'muted' }, t('commands.audit.awaiting'))];
      return [
        command.ack.error
          ? h('div', t('commands.outcome.refusedCommand', { reason: command.ack.error }))
          : null,
        ...command.ack.results.map((result) =>
          h(
            'div',
            { class: result.ok ? 'applied' : 'refused' },
            `${result.point}: ${
              result.ok
                ? t('commands.outcome.applied')
                : t('commands.outcome.refused', { reason: result.reason ?? '—' })
            }`,
          ),
        ),
      ];
    };

    const auditTable = () => {
      const state = audit.value;
      const heading =
        site.value === ''
          ? t('commands.audit.heading')
          : t('commands.audit.headingSite', { site: siteName(site.value) });
      let body: VNode;
      if (state.kind === 'loading' || state.kind === 'idle')
        body = h(StatePanel, { kind: 'loading', title: t('state.loading') });
      else if (state.kind === 'failed')
        body = h(FailurePanel, { failure: state.failure, onRetry: () => void loadAudit() });
      else if (state.data.length === 0)
        body = h(StatePanel, { kind: 'empty', title: t('commands.audit.empty') });
      else
        body = h('table', { class: 'audit' }, [
          h('caption', { class: 'visually-hidden' }, t('commands.audit.caption')),
          h('thead', [
            h(
              'tr',
              (['time', 'by', 'site', 'gateway', 'writes', 'status', 'results'] as const).map((column) =>
                h('th', { scope: 'col' }, t(`commands.audit.${column}`)),
              ),
            ),
          ]),
          h(
            'tbody',
            state.data.map((command) =>
              h('tr', { key: command.id, 'data-command': command.id, 'data-status': command.status }, [
                h('td', { class: 'nowrap' }, timeText(command.requestedAt)),
                h('td', command.requestedBy),
                h('td', siteName(command.target.site)),
                h('td', { class: 'mono' }, command.target.gateway),
                h(
                  'td',
                  { class: 'mono' },
                  writeText(command).map((line) => h('div', line)),
                ),
                h('td', [
                  h(
                    'span',
                    { class: ['status-tag', `status-${command.status}`] },
                    t(`commands.status.${command.status}`),
                  ),
                ]),
                h('td', { class: 'results' }, resultCells(command)),
              ]),
            ),
          ),
        ]);
      return h('section', { class: 'panel command-audit', 'aria-labelledby': 'command-audit-h' }, [
        h('div', { class: 'panel-head' }, [
          h('h2', { id: 'command-audit-h' }, heading),
          h('p', { class: 'muted' }, t('commands.audit.caption')),
          h(
            'button',
            {
              type: 'button',
              class: 'button small',
              'data-action': 'refresh-audit',
              onClick: () => void loadAudit(),
            },
            t('commands.audit.refresh'),
          ),
        ]),
        body,
      ]);
    };

    return () =>
      h('section', { class: 'view commands-view' }, [
        h('h1', t('commands.heading')),
        h('p', { class: 'muted intro' }, t('commands.intro')),
        h('div', { class: 'commands-grid' }, [picker(), auditTable()]),
      ]);
  },
});
