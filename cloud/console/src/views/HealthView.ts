/** The health view (being built). */
import { defineComponent, h, type PropType } from 'vue';
import { useI18n } from 'vue-i18n';
import type { Principal } from '../api.js';
import type { Feed } from '../live.js';
import type { Route } from '../router.js';

export const HealthView = defineComponent({
  name: 'HealthView',
  props: {
    feed: { type: Object as PropType<Feed>, required: true },
    principal: { type: Object as PropType<Principal>, required: true },
    route: { type: Object as PropType<Route>, required: true },
  },
  setup() {
    const { t } = useI18n();
    return () => h('section', { class: 'view' }, [h('h1', t('health.heading'))]);
  },
});
