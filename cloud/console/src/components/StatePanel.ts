/** A loading, empty, error or not-permitted message, announced to screen readers. */
import { defineComponent, h, type PropType } from 'vue';

export type PanelKind = 'loading' | 'empty' | 'error' | 'forbidden';

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
