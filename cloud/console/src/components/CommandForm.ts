/**
 * Writing one writable point (operator and admin only; the caller does not render it for a viewer):
 * the point with its current value (quality, source time), range and unit; a value input fitting its
 * data type, checked before anything is sent; a confirmation step repeating the value, the current
 * value, the range and the unit (focus moves to it, Esc cancels); then the outcome of
 * `POST /api/v1/commands`: acknowledged with each write's result, no acknowledgement yet (pending),
 * commands off / broker down, not permitted, or the API's message.
 */
import { defineComponent, h, nextTick, type PropType, ref, shallowRef } from 'vue';
import { useI18n } from 'vue-i18n';
import {
  type CommandRecord,
  inputKindOf,
  parseValue,
  type SendOutcome,
  sendCommand,
  type ValueProblem,
  withUnit,
} from '../commands.js';
import { unitSymbol } from '../format.js';
import type { LatestPoint, PointInfo, PointValue } from '../points.js';
import '../views/commands.css';

type Step =
  | { kind: 'edit' }
  | { kind: 'confirm'; value: PointValue }
  | { kind: 'sending'; value: PointValue }
  | { kind: 'outcome'; value: PointValue; outcome: SendOutcome };

export const CommandForm = defineComponent({
  name: 'CommandForm',
  props: {
    site: { type: String, required: true },
    point: { type: Object as PropType<PointInfo>, required: true },
    current: { type: Object as PropType<LatestPoint>, required: false },
  },
  emits: {
    /** The operator closed the form (cancelled, or read the outcome). */
    done: () => true,
    /** A command was sent (whatever its outcome): the caller refreshes what depends on it. */
    sent: (_outcome: SendOutcome) => true,
  },
  setup(props, { emit }) {
    const { t, locale } = useI18n();
    const step = shallowRef<Step>({ kind: 'edit' });
    const text = ref('');
    const problem = shallowRef<ValueProblem>();
    const inputEl = ref<HTMLInputElement | HTMLSelectElement>();
    const confirmEl = ref<HTMLElement>();
    const outcomeEl = ref<HTMLElement>();
    const uid = `cmd-${props.point.pointId.replace(/[^A-Za-z0-9-]/g, '-')}`;

    const shortName = () => `${props.point.line}/${props.point.equipment}/${props.point.point}`;
    const unit = () => props.point.unit;
    const hasRange = () =>
      props.point.min !== undefined &&
      props.point.min !== null &&
      props.point.max !== undefined &&
      props.point.max !== null;
    const rangeText = () => {
      const { min, max } = props.point;
      if (!hasRange()) {
        if (min !== undefined && min !== null) return `≥ ${withUnit(min, unit())}`;
        if (max !== undefined && max !== null) return `≤ ${withUnit(max, unit())}`;
        return t('commands.form.noRange');
      }
      const symbol = unitSymbol(unit());
      return `${min}–${max}${symbol === '' ? '' : ` ${symbol}`}`;
    };
    const currentText = () =>
      props.current && props.current.value !== null
        ? withUnit(props.current.value, unit())
        : t('commands.form.noValue');
    const timeText = (ts: number) => new Date(ts).toLocaleString(locale.value === 'zh' ? 'zh-CN' : 'en-GB');

    const problemText = (p: ValueProblem) => {
      switch (p.key) {
        case 'empty':
        case 'notNumber':
          return t(`commands.invalid.${p.key}`);
        case 'notInteger':
        case 'typeRange':
          return t(`commands.invalid.${p.key}`, { type: p.type });
        case 'belowMin':
          return t('commands.invalid.belowMin', { min: withUnit(p.min, unit()) });
        case 'aboveMax':
          return t('commands.invalid.aboveMax', { max: withUnit(p.max, unit()) });
      }
    };

    const focus = (el: { value: HTMLElement | undefined }) => {
      void nextTick().then(() => el.value?.focus());
    };

    const review = (event: Event) => {
      event.preventDefault();
      const parsed = parseValue(props.point, text.value);
      if (!parsed.ok) {
        problem.value = parsed.problem;
        focus(inputEl);
        return;
      }
      problem.value = undefined;
      step.value = { kind: 'confirm', value: parsed.value };
      focus(confirmEl);
    };
    const backToEdit = () => {
      step.value = { kind: 'edit' };
      focus(inputEl);
    };
    const confirm = async () => {
      const current = step.value;
      if (current.kind !== 'confirm') return;
      step.value = { kind: 'sending', value: current.value };
      const outcome = await sendCommand(props.site, props.point.pointId, current.value);
      step.value = { kind: 'outcome', value: current.value, outcome };
      emit('sent', outcome);
      focus(outcomeEl);
    };

    const facts = () =>
      h('dl', { class: 'command-facts' }, [
        h('div', [
          h('dt', t('commands.form.current')),
          h('dd', { 'data-fact': 'current' }, [
            h('span', { class: 'command-current' }, currentText()),
            props.current
              ? h(
                  'span',
                  { class: ['quality', `q-${props.current.quality}`], 'data-quality': props.current.quality },
                  [
                    h('span', { class: 'quality-dot', 'aria-hidden': 'true' }),
                    t(`commands.quality.${props.current.quality}`),
                  ],
                )
              : null,
            props.current
              ? h(
                  'span',
                  { class: 'command-time' },
                  t('commands.form.sourceTime', { time: timeText(props.current.ts) }),
                )
              : null,
          ]),
        ]),
        h('div', [h('dt', t('commands.form.range')), h('dd', { 'data-fact': 'range' }, rangeText())]),
        h('div', [
          h('dt', t('commands.form.unit')),
          h(
            'dd',
            { 'data-fact': 'unit' },
            unit() ? `${unitSymbol(unit())} (${unit()})` : t('commands.form.noUnit'),
          ),
        ]),
        h('div', [
          h('dt', t('commands.form.dataType')),
          h('dd', { 'data-fact': 'dataType' }, props.point.dataType ?? '—'),
        ]),
      ]);

    const valueInput = (disabled: boolean) => {
      const kind = inputKindOf(props.point);
      const common = {
        id: `${uid}-value`,
        ref: inputEl,
        disabled,
        'aria-invalid': problem.value ? 'true' : undefined,
        'aria-describedby': problem.value ? `${uid}-problem` : undefined,
        'data-input': kind,
      };
      if (kind === 'bool') {
        return h(
          'select',
          {
            ...common,
            value: text.value,
            onChange: (e: Event) => {
              text.value = (e.target as HTMLSelectElement).value;
            },
          },
          [
            h('option', { value: '' }, t('commands.pick.choose')),
            h('option', { value: 'true' }, t('commands.form.boolTrue')),
            h('option', { value: 'false' }, t('commands.form.boolFalse')),
          ],
        );
      }
      const { min, max } = props.point;
      return h('input', {
        ...common,
        type: kind === 'text' ? 'text' : 'number',
        inputmode: kind === 'integer' ? 'numeric' : kind === 'number' ? 'decimal' : undefined,
        step: kind === 'integer' ? 1 : kind === 'number' ? 'any' : undefined,
        min: kind !== 'text' && min !== null && min !== undefined ? min : undefined,
        max: kind !== 'text' && max !== null && max !== undefined ? max : undefined,
        autocomplete: 'off',
        value: text.value,
        onInput: (e: Event) => {
          text.value = (e.target as HTMLInputElement).value;
        },
      });
    };

    const editStep = (disabled: boolean) =>
      // novalidate: the form's own check gives the reason in the page's language, the browser's would not.
      h('form', { class: 'command-edit', novalidate: true, onSubmit: review }, [
        h('label', { for: `${uid}-value` }, [
          t('commands.form.newValue'),
          unit() ? h('span', { class: 'command-unit' }, ` (${unitSymbol(unit())})`) : null,
        ]),
        h('div', { class: 'command-row' }, [
          valueInput(disabled),
          h(
            'button',
            { type: 'submit', class: 'button primary', disabled, 'data-action': 'review' },
            t('commands.form.review'),
          ),
          h(
            'button',
            { type: 'button', class: 'button', disabled, onClick: () => emit('done') },
            t('commands.form.cancel'),
          ),
        ]),
        problem.value
          ? h(
              'p',
              { id: `${uid}-problem`, class: 'form-error', role: 'alert', 'data-problem': problem.value.key },
              problemText(problem.value),
            )
          : null,
      ]);

    const confirmStep = (value: PointValue, sending: boolean) => {
      const current =
        props.current && props.current.value !== null ? withUnit(props.current.value, unit()) : null;
      return h(
        'section',
        {
          ref: confirmEl,
          class: 'command-confirm',
          role: 'alertdialog',
          'aria-modal': 'false',
          'aria-labelledby': `${uid}-confirm-h`,
          'aria-describedby': `${uid}-confirm-text`,
          tabindex: -1,
          'data-step': sending ? 'sending' : 'confirm',
          onKeydown: (event: KeyboardEvent) => {
            if (event.key === 'Escape' && !sending) {
              event.preventDefault();
              backToEdit();
            }
          },
        },
        [
          h('h3', { id: `${uid}-confirm-h` }, t('commands.form.confirmHeading')),
          h('p', { id: `${uid}-confirm-text`, class: 'command-question' }, [
            t('commands.form.confirmText', {
              value: withUnit(value, unit()),
              point: `${props.site}/${shortName()}`,
            }),
            ' ',
            [
              current === null ? null : t('commands.form.confirmCurrent', { current }),
              t('commands.form.confirmRange', { range: rangeText() }),
            ]
              .filter((part): part is string => part !== null)
              .join(locale.value === 'zh' ? '，' : ', '),
          ]),
          sending
            ? h('p', { class: 'command-sending', role: 'status' }, [
                h('span', { class: 'spinner', 'aria-hidden': 'true' }),
                ` ${t('commands.form.sending')}`,
              ])
            : h('p', { class: 'command-hint' }, t('commands.form.escHint')),
          h('div', { class: 'command-row' }, [
            h(
              'button',
              {
                type: 'button',
                class: 'button primary',
                disabled: sending,
                'data-action': 'confirm',
                onClick: () => void confirm(),
              },
              t('commands.form.confirm'),
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'button',
                disabled: sending,
                'data-action': 'cancel',
                onClick: backToEdit,
              },
              t('commands.form.cancel'),
            ),
          ]),
        ],
      );
    };

    const results = (command: CommandRecord) => {
      const ack = command.ack;
      if (!ack) return null;
      return h(
        'ul',
        { class: 'command-results' },
        [
          ack.error
            ? h('li', { class: 'refused' }, t('commands.outcome.refusedCommand', { reason: ack.error }))
            : null,
          ...ack.results.map((result) =>
            h(
              'li',
              { class: result.ok ? 'applied' : 'refused', 'data-result': result.ok ? 'applied' : 'refused' },
              [
                h('span', { class: 'mono' }, `${result.line}/${result.equipment}/${result.point}: `),
                result.ok
                  ? t('commands.outcome.applied')
                  : t('commands.outcome.refused', { reason: result.reason ?? '—' }),
              ],
            ),
          ),
        ].filter((node) => node !== null),
      );
    };

    const outcomeText = (outcome: SendOutcome): { tone: 'ok' | 'warn' | 'error'; text: string } => {
      switch (outcome.kind) {
        case 'acknowledged': {
          const gateway = outcome.command.ack?.gateway.id ?? outcome.command.target.gateway;
          return outcome.command.status === 'succeeded'
            ? { tone: 'ok', text: t('commands.outcome.succeeded', { gateway }) }
            : { tone: 'error', text: t('commands.outcome.failed', { gateway }) };
        }
        case 'pending':
          return { tone: 'warn', text: t('commands.outcome.pending', { message: outcome.message }) };
        case 'unavailable':
          return { tone: 'error', text: t('commands.outcome.unavailable', { message: outcome.message }) };
        case 'forbidden':
          return { tone: 'error', text: t('commands.outcome.forbidden', { message: outcome.message }) };
        case 'unauthenticated':
          return { tone: 'error', text: t('commands.outcome.unauthenticated') };
        case 'rejected':
          return { tone: 'error', text: t('commands.outcome.rejected', { message: outcome.message }) };
        case 'unreachable':
          return { tone: 'error', text: t('commands.outcome.unreachable') };
      }
    };

    const outcomeStep = (outcome: SendOutcome) => {
      const { tone, text: message } = outcomeText(outcome);
      return h(
        'section',
        {
          ref: outcomeEl,
          class: ['command-outcome', `tone-${tone}`],
          role: tone === 'ok' ? 'status' : 'alert',
          tabindex: -1,
          'data-outcome': outcome.kind === 'acknowledged' ? outcome.command.status : outcome.kind,
        },
        [
          h('p', { class: 'command-outcome-title' }, message),
          outcome.kind === 'acknowledged' ? results(outcome.command) : null,
          h('div', { class: 'command-row' }, [
            h(
              'button',
              { type: 'button', class: 'button', 'data-action': 'again', onClick: backToEdit },
              t('commands.form.again'),
            ),
            h(
              'button',
              { type: 'button', class: 'button', 'data-action': 'close', onClick: () => emit('done') },
              t('commands.form.close'),
            ),
          ]),
        ],
      );
    };

    return () => {
      const current = step.value;
      return h(
        'div',
        { class: 'command-form', 'data-point': props.point.pointId, 'data-step': current.kind },
        [
          h('h2', { class: 'command-point' }, [
            h('span', { class: 'mono' }, shortName()),
            props.point.description
              ? h('span', { class: 'command-description' }, props.point.description)
              : null,
          ]),
          facts(),
          current.kind === 'edit' ? editStep(false) : null,
          current.kind === 'confirm' ? confirmStep(current.value, false) : null,
          current.kind === 'sending' ? confirmStep(current.value, true) : null,
          current.kind === 'outcome' ? outcomeStep(current.outcome) : null,
        ],
      );
    };
  },
});
