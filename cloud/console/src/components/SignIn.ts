/** The sign-in form: POST /api/v1/login; the collector sets the session cookie. */
import { defineComponent, h, onMounted, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { type Principal, signIn } from '../api.js';

export const SignIn = defineComponent({
  name: 'SignIn',
  emits: { signedIn: (_principal: Principal) => true },
  setup(_props, { emit }) {
    const { t } = useI18n();
    const name = ref('');
    const password = ref('');
    const busy = ref(false);
    const error = ref('');
    const nameInput = ref<HTMLInputElement>();
    onMounted(() => nameInput.value?.focus());

    const submit = async (event: Event) => {
      event.preventDefault();
      if (busy.value) return;
      busy.value = true;
      error.value = '';
      const result = await signIn(name.value.trim(), password.value);
      busy.value = false;
      if (result.ok) {
        password.value = '';
        emit('signedIn', result.principal);
        return;
      }
      error.value =
        result.reason === 'wrong'
          ? t('auth.wrong')
          : result.reason === 'locked'
            ? t('auth.locked')
            : result.reason === 'unreachable'
              ? t('state.unreachable')
              : t('state.error', { message: result.message ?? '' });
    };

    return () =>
      h('section', { class: 'signin', 'aria-labelledby': 'signin-heading' }, [
        h('h1', { id: 'signin-heading' }, t('auth.heading')),
        h('p', { class: 'state-hint' }, t('auth.hint')),
        h('form', { onSubmit: submit, novalidate: false }, [
          h('label', { for: 'signin-name' }, t('auth.user')),
          h('input', {
            id: 'signin-name',
            ref: nameInput,
            name: 'username',
            autocomplete: 'username',
            required: true,
            value: name.value,
            onInput: (e: Event) => {
              name.value = (e.target as HTMLInputElement).value;
            },
          }),
          h('label', { for: 'signin-password' }, t('auth.password')),
          h('input', {
            id: 'signin-password',
            name: 'password',
            type: 'password',
            autocomplete: 'current-password',
            required: true,
            value: password.value,
            onInput: (e: Event) => {
              password.value = (e.target as HTMLInputElement).value;
            },
          }),
          error.value ? h('p', { class: 'form-error', role: 'alert' }, error.value) : null,
          h(
            'button',
            { type: 'submit', class: 'button primary', disabled: busy.value, 'aria-busy': busy.value },
            busy.value ? t('auth.signingIn') : t('auth.signIn'),
          ),
        ]),
      ]);
  },
});
