/** A loading, empty, error or not-permitted message, announced to screen readers. */
import { defineComponent, h, type PropType } from 'vue';
import { useI18n } from 'vue-i18n';
import type { Failure } from '../api.js';

export type PanelKind = 'loading' | 'empty' | 'error' | 'forbidden';

/** A failure in one line, beside data still shown: the API's reason for an error, else the state's words. */
export function failureLine(failure: Failure, t: (key: string) => string): string {
  if (failure.kind === 'error') return failure.message;
  return t(failure.kind === 'unreachable' ? 'state.unreachable' : 'state.notPermitted');
}

export const StatePanel = defineComponent({
  name: 'StatePanel',
  props: {
    kind: { type: String as PropType<PanelKind>, required: true },
    title: { type: String, required: true },
    hint: { type: String, default: '' },
    action: { type: String, default: '' },
  },
  emits: { action: () => true },
  setup(props, { emit }) {
    return () =>
      h(
        'section',
        {
          class: ['state-panel', `state-${props.kind}`],
          role: props.kind === 'error' || props.kind === 'forbidden' ? 'alert' : 'status',
          'data-state': props.kind,
        },
        [
          props.kind === 'loading' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
          h('p', { class: 'state-title' }, props.title),
          props.hint ? h('p', { class: 'state-hint' }, props.hint) : null,
          props.action
            ? h('button', { type: 'button', class: 'button', onClick: () => emit('action') }, props.action)
            : null,
        ],
      );
  },
});

/**
 * The panel of a failed API call, the same in every view: not permitted (also a session that ended
 * meanwhile), the collector unreachable, or the API's reason; with a retry where the view can retry.
 */
export const FailurePanel = defineComponent({
  name: 'FailurePanel',
  props: {
    failure: { type: Object as PropType<Failure>, required: true },
    /** The title of an error from the API's reason, when the view says it its own way. */
    describe: { type: Function as PropType<(message: string) => string>, default: undefined },
    retry: { type: Boolean, default: true },
  },
  emits: { retry: () => true },
  setup(props, { emit }) {
    const { t } = useI18n();
    return () => {
      const { failure } = props;
      const onAction = () => emit('retry');
      const action = props.retry ? t('state.retry') : '';
      switch (failure.kind) {
        case 'forbidden':
        case 'unauthenticated':
          return h(StatePanel, {
            kind: 'forbidden',
            title: t('state.notPermitted'),
            hint: t('state.notPermittedHint'),
          });
        case 'unreachable':
          return h(StatePanel, {
            kind: 'error',
            title: t('state.unreachable'),
            hint: t('state.unreachableHint'),
            action,
            onAction,
          });
        case 'error':
          return h(StatePanel, {
            kind: 'error',
            title: props.describe
              ? props.describe(failure.message)
              : t('state.error', { message: failure.message }),
            action,
            onAction,
          });
      }
    };
  },
});
