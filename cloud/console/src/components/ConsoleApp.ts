/**
 * The shell: asks /api/v1/me who is there (anonymous access when the collector allows it), shows
 * the sign-in form when nobody is, else the header, the navigation and the view of the URL's hash
 * (`router.ts`), all over one live feed.
 */
import {
  defineAsyncComponent,
  defineComponent,
  h,
  onBeforeUnmount,
  onMounted,
  ref,
  shallowRef,
  watch,
} from 'vue';
import { useI18n } from 'vue-i18n';
import { ApiFailure, type Principal, signOut, whoAmI } from '../api.js';
import { applyLocale, type Locale } from '../i18n.js';
import { type Feed, openFeed } from '../live.js';
import { navHref, navViews, route } from '../router.js';
import { CommandsView } from '../views/CommandsView.js';
import { HealthView } from '../views/HealthView.js';
import { ProjectsView } from '../views/ProjectsView.js';
import { SiteView } from '../views/SiteView.js';
import { RegionalOverview } from './RegionalOverview.js';
import { SignIn } from './SignIn.js';
import { StatePanel } from './StatePanel.js';

// The comparison draws with ECharts (most of the bundle): loaded when first opened, not with the first view.
const CompareView = defineAsyncComponent(async () => (await import('../views/CompareView.js')).CompareView);

type Phase =
  | { kind: 'loading' }
  | { kind: 'signin' }
  | { kind: 'ready'; principal: Principal }
  | { kind: 'unreachable' }
  | { kind: 'forbidden' }
  | { kind: 'error'; message: string };

export const ConsoleApp = defineComponent({
  name: 'ConsoleApp',
  setup() {
    const { t, locale } = useI18n();
    const phase = shallowRef<Phase>({ kind: 'loading' });
    const feed = shallowRef<Feed>();
    const signingOut = ref(false);
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    const stopFeed = () => {
      feed.value?.close();
      feed.value = undefined;
    };
    const enter = (principal: Principal) => {
      stopFeed();
      phase.value = { kind: 'ready', principal };
      feed.value = openFeed();
    };

    const load = async () => {
      clearTimeout(retryTimer);
      phase.value = { kind: 'loading' };
      try {
        const principal = await whoAmI();
        if (principal) enter(principal);
        else phase.value = { kind: 'signin' };
      } catch (error) {
        const failure = error instanceof ApiFailure ? error.failure : undefined;
        if (failure?.kind === 'forbidden') phase.value = { kind: 'forbidden' };
        else if (failure?.kind === 'error') phase.value = { kind: 'error', message: failure.message };
        else {
          phase.value = { kind: 'unreachable' };
          retryTimer = setTimeout(() => void load(), 5000);
        }
      }
    };

    // The session ended (expired, signed out elsewhere): back to the sign-in form.
    watch(
      () => feed.value?.status.state,
      (state) => {
        if (state === 'unauthenticated') {
          stopFeed();
          phase.value = { kind: 'signin' };
        }
      },
    );

    const leave = async () => {
      signingOut.value = true;
      try {
        await signOut();
      } catch {
        // signed out locally anyway; the cookie expires on its own
      }
      signingOut.value = false;
      stopFeed();
      phase.value = { kind: 'signin' };
    };

    onMounted(() => {
      applyLocale(locale.value as Locale);
      void load();
    });
    onBeforeUnmount(() => {
      clearTimeout(retryTimer);
      stopFeed();
    });

    const header = () => {
      const current = phase.value;
      const other: Locale = locale.value === 'zh' ? 'en' : 'zh';
      return h('header', { class: 'topbar' }, [
        h('span', { class: 'brand' }, t('app.title')),
        h('div', { class: 'topbar-actions' }, [
          current.kind === 'ready'
            ? h(
                'span',
                { class: 'who', 'data-user': current.principal.name },
                current.principal.via === 'anonymous'
                  ? t('auth.anonymous', { role: t(`role.${current.principal.role}`) })
                  : t('auth.as', { name: current.principal.name, role: t(`role.${current.principal.role}`) }),
              )
            : null,
          h(
            'button',
            {
              type: 'button',
              class: 'button lang',
              lang: other === 'zh' ? 'zh-CN' : 'en',
              title: t('lang.switchLabel'),
              'data-action': 'switch-language',
              onClick: () => applyLocale(other),
            },
            t('lang.switchTo'),
          ),
          current.kind === 'ready' && current.principal.via === 'session'
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'button',
                  disabled: signingOut.value,
                  'data-action': 'sign-out',
                  onClick: () => void leave(),
                },
                t('auth.signOut'),
              )
            : null,
        ]),
      ]);
    };

    /** The views a principal may open: commands are for operators and admins. */
    const allowedViews = (principal: Principal) =>
      navViews.filter((view) => view !== 'commands' || principal.role !== 'viewer');

    const nav = (principal: Principal) => {
      const active = route.value.view === 'site' ? 'overview' : route.value.view;
      return h('nav', { class: 'views', 'aria-label': t('nav.label') }, [
        h(
          'ul',
          allowedViews(principal).map((view) =>
            h('li', [
              h(
                'a',
                {
                  href: navHref(view),
                  'aria-current': view === active ? 'page' : undefined,
                  'data-view': view,
                },
                t(`nav.${view}`),
              ),
            ]),
          ),
        ),
      ]);
    };

    const view = (principal: Principal, live: Feed) => {
      const current = route.value;
      const props = { feed: live, principal, route: current };
      switch (current.view) {
        case 'overview':
          return h(RegionalOverview, { feed: live });
        case 'projects':
          return h(ProjectsView, props);
        case 'compare':
          return h(CompareView, props);
        case 'health':
          return h(HealthView, props);
        case 'site':
          // Keyed by site: another site is a new view, not a patched one.
          return h(SiteView, { ...props, key: current.site });
        case 'commands':
          return principal.role === 'viewer'
            ? h(StatePanel, {
                kind: 'forbidden',
                title: t('state.notPermitted'),
                hint: t('state.notPermittedHint'),
              })
            : h(CommandsView, props);
      }
    };

    const main = () => {
      const current = phase.value;
      switch (current.kind) {
        case 'loading':
          return h(StatePanel, { kind: 'loading', title: t('state.loading') });
        case 'signin':
          return h(SignIn, { onSignedIn: enter });
        case 'unreachable':
          return h(StatePanel, {
            kind: 'error',
            title: t('state.unreachable'),
            hint: t('state.unreachableHint'),
            action: t('state.retry'),
            onAction: () => void load(),
          });
        case 'forbidden':
          return h(StatePanel, {
            kind: 'forbidden',
            title: t('state.notPermitted'),
            hint: t('state.notPermittedHint'),
          });
        case 'error':
          return h(StatePanel, {
            kind: 'error',
            title: t('state.error', { message: current.message }),
            action: t('state.retry'),
            onAction: () => void load(),
          });
        case 'ready':
          return feed.value ? view(current.principal, feed.value) : null;
      }
    };

    return () => [
      // The hash is the route, so the skip link moves the focus itself instead of going to #main.
      h(
        'a',
        {
          class: 'skip-link',
          href: '#main',
          onClick: (event: MouseEvent) => {
            event.preventDefault();
            document.getElementById('main')?.focus();
          },
        },
        t('app.skip'),
      ),
      header(),
      phase.value.kind === 'ready' ? nav(phase.value.principal) : null,
      h('main', { id: 'main', tabindex: -1 }, [main()]),
    ];
  },
});
