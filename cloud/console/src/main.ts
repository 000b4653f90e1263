import { createApp } from 'vue';
import { ConsoleApp } from './components/ConsoleApp.js';
import { i18n } from './i18n.js';
import './style.css';

createApp(ConsoleApp).use(i18n).mount('#app');
