/**
 * The commands API as the console uses it: `POST /api/v1/commands` (operator) and
 * `GET /api/v1/commands` (the audit list), plus the check of a value against a point before it is
 * sent. The POST does not go through `sendJson`: its 504 means "sent, no acknowledgement yet" (the
 * command stays pending), which `sendJson` would report as "collector unreachable".
 */
import { csrfToken, getJson } from './api.js';
import { unitSymbol } from './format.js';
import type { PointInfo, PointValue } from './points.js';

export interface WriteRequest {
  line: string;
  equipment: string;
  point: string;
  value: PointValue;
}

export interface WriteOutcome {
  line: string;
  equipment: string;
  point: string;
  ok: boolean;
  reason?: string;
}

/** The browser's copy of the collector's `CommandRecord` (cloud/store/command-table.ts). */
export interface CommandRecord {
  id: string;
  requestedAt: number;
  requestedBy: string;
  target: { region: string; site: string; gateway: string };
  writes: WriteRequest[];
  expiresTs: number;
  status: 'pending' | 'succeeded' | 'failed';
  ack: { gateway: { id: string }; results: WriteOutcome[]; error?: string } | null;
  ackedAt: number | null;
}

export type SendOutcome =
  | { kind: 'acknowledged'; command: CommandRecord }
  /** 504: sent, but the gateway did not answer in time. */
  | { kind: 'pending'; message: string; command?: CommandRecord }
  /** 503: commands are off (no signing key) or the collector is not connected to the broker. */
  | { kind: 'unavailable'; message: string }
  | { kind: 'forbidden'; message: string }
  | { kind: 'unauthenticated' }
  /** 400 / 404 and anything else the API refused with a message. */
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'unreachable' };

/** Sends one write of `pointId` (`site/line/equipment/point`) and says how it ended. */
export async function sendCommand(site: string, pointId: string, value: PointValue): Promise<SendOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const csrf = csrfToken();
  if (csrf !== undefined) headers['x-csrf-token'] = csrf;
  let response: Response;
  try {
    response = await fetch('/api/v1/commands', {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: JSON.stringify({ site, writes: [{ point: pointId, value }] }),
    });
  } catch {
    return { kind: 'unreachable' };
  }
  let body: { error?: unknown; command?: CommandRecord } & Partial<CommandRecord> = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON (a proxy's error page): the status decides
  }
  const message = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
  if (response.ok) return { kind: 'acknowledged', command: body as CommandRecord };
  switch (response.status) {
    case 401:
      return { kind: 'unauthenticated' };
    case 403:
      return { kind: 'forbidden', message };
    case 503:
      return { kind: 'unavailable', message };
    case 504:
      // A reverse proxy's own 504 has no command: the collector may not have had it at all.
      return body.command ? { kind: 'pending', message, command: body.command } : { kind: 'unreachable' };
    case 502:
      return { kind: 'unreachable' };
    default:
      return { kind: 'rejected', status: response.status, message };
  }
}

/** The audit list, newest first. */
export function fetchCommands(site: string | undefined, limit = 50): Promise<CommandRecord[]> {
  return getJson<CommandRecord[]>('/api/v1/commands', { site, limit });
}

const integerRanges: Record<string, [number, number]> = {
  int16: [-(2 ** 15), 2 ** 15 - 1],
  uint16: [0, 2 ** 16 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  datetime: [0, Number.MAX_SAFE_INTEGER],
};

export type InputKind = 'bool' | 'integer' | 'number' | 'text';

export function inputKindOf(point: PointInfo): InputKind {
  const type = point.dataType ?? null;
  if (type === 'bool') return 'bool';
  if (type === 'string') return 'text';
  if (type !== null && type in integerRanges) return 'integer';
  return 'number';
}

/** Why the text typed is not a value of the point (an i18n key of `commands.invalid` and its arguments). */
export type ValueProblem =
  | { key: 'empty' | 'notNumber' }
  | { key: 'notInteger' | 'typeRange'; type: string }
  | { key: 'belowMin'; min: number }
  | { key: 'aboveMax'; max: number };

/** The value to send for what was typed, or why it cannot be sent; the gateway checks the same again. */
export function parseValue(
  point: PointInfo,
  text: string,
): { ok: true; value: PointValue } | { ok: false; problem: ValueProblem } {
  const kind = inputKindOf(point);
  if (kind === 'bool') {
    if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
    return { ok: false, problem: { key: 'empty' } };
  }
  if (kind === 'text') return { ok: true, value: text };
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, problem: { key: 'empty' } };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, problem: { key: 'notNumber' } };
  const type = point.dataType ?? '';
  if (kind === 'integer' && !Number.isInteger(value))
    return { ok: false, problem: { key: 'notInteger', type } };
  // The declared range first: it says more to an operator than the register's type does.
  if (point.min !== undefined && point.min !== null && value < point.min)
    return { ok: false, problem: { key: 'belowMin', min: point.min } };
  if (point.max !== undefined && point.max !== null && value > point.max)
    return { ok: false, problem: { key: 'aboveMax', max: point.max } };
  const [low, high] = integerRanges[type] ?? [-Infinity, Infinity];
  if (kind === 'integer' && (value < low || value > high))
    return { ok: false, problem: { key: 'typeRange', type } };
  return { ok: true, value };
}

/** A value with its unit, e.g. `1200`, `35.2 °C`, `true`. */
export function withUnit(value: PointValue, unit: string | null | undefined): string {
  const text = value === null ? '—' : String(value);
  const symbol = unitSymbol(unit);
  return symbol === '' ? text : `${text} ${symbol}`;
}
