/** A labelled `<select>` as the console's forms use it. */
import { h, type VNode } from 'vue';

export interface SelectFieldOptions {
  id: string;
  label: string;
  value: string;
  options: { value: string; label: string }[];
  onChange: (value: string) => void;
  disabled?: boolean;
  /** A first, empty choice ("— choose —") for a field with nothing chosen yet. */
  placeholder?: string;
}

export function selectField(field: SelectFieldOptions): VNode {
  const choices =
    field.placeholder === undefined
      ? field.options
      : [{ value: '', label: field.placeholder }, ...field.options];
  return h('div', { class: 'field' }, [
    h('label', { for: field.id }, field.label),
    h(
      'select',
      {
        id: field.id,
        value: field.value,
        disabled: field.disabled ?? false,
        onChange: (event: Event) => field.onChange((event.target as HTMLSelectElement).value),
      },
      choices.map((option) =>
        h('option', { value: option.value, selected: option.value === field.value }, option.label),
      ),
    ),
  ]);
}
