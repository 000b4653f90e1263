/** The console's two languages; the choice is kept in localStorage. */
import { createI18n } from 'vue-i18n';
import * as commands from './messages/commands.js';
import * as compare from './messages/compare.js';
import * as health from './messages/health.js';
import * as projects from './messages/projects.js';
import * as site from './messages/site.js';

export type Locale = 'zh' | 'en';
const STORAGE_KEY = 'jjj.console.locale';

const en = {
  app: { title: 'Jing-Jin-Ji IIoT console', skip: 'Skip to content' },
  nav: {
    label: 'Views',
    overview: 'Overview',
    projects: 'Projects',
    compare: 'Comparison',
    health: 'Data health',
    commands: 'Commands',
  },
  projects: projects.en,
  compare: compare.en,
  site: site.en,
  health: health.en,
  commands: commands.en,
  lang: { switchTo: '中文', switchLabel: 'Switch the language to Chinese' },
  auth: {
    signIn: 'Sign in',
    signingIn: 'Signing in…',
    signOut: 'Sign out',
    user: 'User name',
    password: 'Password',
    heading: 'Sign in to the collector',
    hint: 'Use the user name and password your administrator gave you.',
    wrong: 'Wrong user name or password.',
    locked: 'Too many failed attempts: try again later.',
    as: 'Signed in as {name} ({role})',
    anonymous: 'Open access ({role})',
  },
  role: { viewer: 'viewer', operator: 'operator', admin: 'administrator' },
  state: {
    loading: 'Loading…',
    unreachable: 'The collector cannot be reached.',
    unreachableHint: 'Check the network or that the collector is running; retrying.',
    retry: 'Retry now',
    notPermitted: 'You are not permitted to see this.',
    notPermittedHint: 'Ask an administrator for the viewer role or sign in as another user.',
    error: 'Something went wrong: {message}',
  },
  live: {
    connecting: 'Connecting to the live feed…',
    live: 'Live',
    reconnecting: 'Connection lost: reconnecting…',
    busy: 'The collector has too many live clients: retrying…',
    updated: 'Updated {time}',
  },
  overview: {
    heading: 'Regional overview',
    empty: 'No sites yet: none of the gateways has reported to this collector.',
    regionEmpty: 'No sites in this region.',
    summary: '{online} online · {stale} stale · {offline} offline',
    sites: 'Sites',
    site: 'Site',
    status: 'Status',
    age: 'Last data',
    points: 'Points',
    gateway: 'Gateway',
    protocols: 'Protocols',
    never: 'no data yet',
    quality: 'Bad quality',
    qualityBad: '{n} bad',
    qualityUncertain: '{n} uncertain',
    qualityNone: 'none',
    completeness: 'Completeness (1 h)',
    completenessNone: 'no numbered batches',
    completenessTitle: 'Batches received of those the gateway numbered, over the last hour',
  },
  region: { BJ: 'Beijing', TJ: 'Tianjin', HE: 'Hebei' },
  siteState: { online: 'Online', stale: 'Stale', offline: 'Offline' },
  age: { s: '{n} s ago', min: '{n} min ago', h: '{n} h ago', d: '{n} d ago' },
};

type Messages = typeof en;

const zh: Messages = {
  app: { title: '京津冀工业互联网控制台', skip: '跳到正文' },
  nav: {
    label: '视图',
    overview: '总览',
    projects: '示范项目',
    compare: '工厂对比',
    health: '数据健康',
    commands: '控制命令',
  },
  projects: projects.zh,
  compare: compare.zh,
  site: site.zh,
  health: health.zh,
  commands: commands.zh,
  lang: { switchTo: 'English', switchLabel: '切换为英文' },
  auth: {
    signIn: '登录',
    signingIn: '正在登录…',
    signOut: '退出登录',
    user: '用户名',
    password: '密码',
    heading: '登录采集平台',
    hint: '请使用管理员分配的用户名和密码。',
    wrong: '用户名或密码错误。',
    locked: '失败次数过多，请稍后再试。',
    as: '当前用户 {name}（{role}）',
    anonymous: '免登录访问（{role}）',
  },
  role: { viewer: '查看者', operator: '操作员', admin: '管理员' },
  state: {
    loading: '加载中…',
    unreachable: '无法连接采集平台。',
    unreachableHint: '请检查网络或采集服务是否运行；正在重试。',
    retry: '立即重试',
    notPermitted: '您没有查看此内容的权限。',
    notPermittedHint: '请联系管理员授予查看者角色，或以其他用户登录。',
    error: '出错了：{message}',
  },
  live: {
    connecting: '正在连接实时数据…',
    live: '实时',
    reconnecting: '连接中断，正在重连…',
    busy: '采集平台实时连接数已满，正在重试…',
    updated: '更新于 {time}',
  },
  overview: {
    heading: '区域总览',
    empty: '暂无站点：尚无网关向本采集平台上报数据。',
    regionEmpty: '该区域暂无站点。',
    summary: '在线 {online} · 数据滞后 {stale} · 离线 {offline}',
    sites: '站点',
    site: '站点',
    status: '状态',
    age: '最近数据',
    points: '测点',
    gateway: '网关',
    protocols: '协议',
    never: '尚无数据',
    quality: '质量异常',
    qualityBad: '坏值 {n}',
    qualityUncertain: '不确定 {n}',
    qualityNone: '无',
    completeness: '完整率（1 小时）',
    completenessNone: '无编号批次',
    completenessTitle: '最近一小时内已收到的批次占网关所编号批次的比例',
  },
  region: { BJ: '北京', TJ: '天津', HE: '河北' },
  siteState: { online: '在线', stale: '数据滞后', offline: '离线' },
  age: { s: '{n} 秒前', min: '{n} 分钟前', h: '{n} 小时前', d: '{n} 天前' },
};

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'zh' || saved === 'en') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const i18n = createI18n<[Messages], Locale, false>({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en, zh },
});

export function applyLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale === 'zh' ? 'zh-CN' : 'en';
  document.title = i18n.global.t('app.title');
}
