/**
 * Writing one writable point (operator and admin only; the caller does not render it for a viewer):
 * the value with a confirmation step that shows the current value, the range and the unit, then the
 * outcome from `POST /api/v1/commands` (being built).
 */
import { defineComponent, h, type PropType } from 'vue';
import type { LatestPoint, PointInfo } from '../points.js';

export const CommandForm = defineComponent({
  name: 'CommandForm',
  props: {
    site: { type: String, required: true },
    point: { type: Object as PropType<PointInfo>, required: true },
    current: { type: Object as PropType<LatestPoint>, required: false },
  },
  emits: { done: () => true },
  setup(props) {
    return () => h('form', { class: 'command-form' }, props.point.pointId);
  },
});
