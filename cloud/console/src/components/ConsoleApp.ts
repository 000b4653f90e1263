/**
 * The shell: asks /api/v1/me who is there (anonymous access when the collector allows it), shows
 * the sign-in form when nobody is, else the header and the regional overview over the live feed.
 */
import { defineComponent, h, onBeforeUnmount, onMounted, ref, shallowRef, watch } from 'vue';
import { useI18n } from 'vue-i18n';
import { ApiFailure, type Principal, signOut, whoAmI } from '../api.js';
import { applyLocale, type Locale } from '../i18n.js';
import { type Feed, openFeed } from '../live.js';
import { RegionalOverview } from './RegionalOverview.js';
import { SignIn } from './SignIn.js';
import { StatePanel } from './StatePanel.js';

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
          return feed.value ? h(RegionalOverview, { feed: feed.value }) : null;
      }
    };

    return () => [
      h('a', { class: 'skip-link', href: '#main' }, t('app.skip')),
      header(),
      h('main', { id: 'main', tabindex: -1 }, [main()]),
    ];
  },
});
