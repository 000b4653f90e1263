/** A point value in an SQLite column: SQLite has no boolean or array type, so a tag next to it brings back its JSON type. */
import type { PointValue } from '../../gateway/schema/index.js';

export type BindValue = number | string | Buffer | null;
export type ValueType = 'number' | 'boolean' | 'string' | 'array' | 'null';

export function encodeValue(value: PointValue): { value: BindValue; valueType: ValueType } {
  if (value === null) return { value: null, valueType: 'null' };
  if (Array.isArray(value)) return { value: JSON.stringify(value), valueType: 'array' };
  if (typeof value === 'boolean') return { value: value ? 1 : 0, valueType: 'boolean' };
  if (typeof value === 'number') return { value, valueType: 'number' };
  return { value, valueType: 'string' };
}

export function decodeValue(value: unknown, valueType: string): PointValue {
  switch (valueType) {
    case 'boolean':
      return value === 1;
    case 'array':
      return JSON.parse(String(value)) as PointValue;
    case 'number':
      return Number(value);
    case 'string':
      return String(value);
    default:
      return null;
  }
}
