/** How the console writes values, units, times and ages, in the page's language. */
import type { PointValue } from './points.js';

/** Symbols of the UNECE Rec 20 codes the seed gateways use; other codes are shown as they are. */
const UNIT_SYMBOLS: Record<string, string> = {
  CEL: '°C',
  KWT: 'kW',
  KWH: 'kWh',
  WTT: 'W',
  MTQ: 'm³',
  MQH: 'm³/h',
  LTR: 'L',
  BAR: 'bar',
  KPA: 'kPa',
  MPA: 'MPa',
  P1: '%',
  RPM: 'r/min',
  HTZ: 'Hz',
  AMP: 'A',
  VLT: 'V',
  MMT: 'mm',
  MTR: 'm',
  MTS: 'm/s',
  KGM: 'kg',
  SEC: 's',
  MIN: 'min',
  HUR: 'h',
  NEW: 'N',
  NU: 'N·m',
  C62: '',
  H87: 'pcs',
};

export function unitSymbol(unit: string | null | undefined): string {
  if (unit === null || unit === undefined) return '';
  return UNIT_SYMBOLS[unit] ?? unit;
}

/** A site's name in the page's language: its Chinese name in Chinese when it has one. */
export function siteNameOf(site: { name: string; nameZh: string | null }, locale: string): string {
  return locale === 'zh' && site.nameZh ? site.nameZh : site.name;
}

/** A number with at most `digits` decimals, grouped as the language does. */
export function formatNumber(value: number, locale: string, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString(locale === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: digits });
}

/** A point's value as text: numbers formatted, booleans and texts as words, arrays as JSON. */
export function formatValue(
  value: PointValue | unknown,
  locale: string,
  words: { yes: string; no: string; none: string },
): string {
  if (value === null || value === undefined) return words.none;
  if (typeof value === 'number') return formatNumber(value, locale);
  if (typeof value === 'boolean') return value ? words.yes : words.no;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

const tag = (locale: string) => (locale === 'zh' ? 'zh-CN' : 'en-GB');

/** A source time: the time of day (with seconds) today, the date and time otherwise. */
export function formatTime(ts: number, locale: string, now = Date.now()): string {
  const date = new Date(ts);
  const sameDay = new Date(now).toDateString() === date.toDateString();
  return sameDay
    ? date.toLocaleTimeString(tag(locale), { hour12: false })
    : date.toLocaleString(tag(locale), { hour12: false });
}

/** A time on a chart's axis or in a summary: date and time to the minute. */
export function formatDateTime(ts: number, locale: string): string {
  return new Date(ts).toLocaleString(tag(locale), {
    hour12: false,
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** Whole seconds, minutes, hours or days since `ts` (as the overview counts them). */
export function ageOf(ts: number, now: number): { unit: 's' | 'min' | 'h' | 'd'; n: number } {
  const s = Math.max(0, Math.floor((now - ts) / 1000));
  if (s < 120) return { unit: 's', n: s };
  if (s < 7200) return { unit: 'min', n: Math.floor(s / 60) };
  if (s < 172_800) return { unit: 'h', n: Math.floor(s / 3600) };
  return { unit: 'd', n: Math.floor(s / 86_400) };
}

/** One formatter per language: every row of every render writes a percentage. */
const percentFormats = new Map<string, Intl.NumberFormat>();

/** A completeness (rounded down to 0.001 by the collector) as a percentage with one decimal. */
export function percentOf(ratio: number, locale: string): string {
  const language = locale === 'zh' ? 'zh-CN' : 'en';
  let format = percentFormats.get(language);
  if (!format) {
    format = new Intl.NumberFormat(language, {
      style: 'percent',
      minimumFractionDigits: 1,
      maximumFractionDigits: 1,
    });
    percentFormats.set(language, format);
  }
  return format.format(ratio);
}

/** How a completeness reads: full, short (under 100 %) or poor (under 90 %). */
export function completenessLevel(ratio: number): 'full' | 'short' | 'poor' {
  return ratio >= 1 ? 'full' : ratio >= 0.9 ? 'short' : 'poor';
}
