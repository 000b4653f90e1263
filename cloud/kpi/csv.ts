/**
 * CSV text as RFC 4180 writes it: fields holding a comma, a quote, CR or LF are quoted (quotes
 * doubled), records end with CRLF. A text cell a spreadsheet would run as a formula (it starts with
 * `=`, `+`, `-`, `@`, a tab or CR; names come from gateway metadata, which the collector does not
 * trust) gets a leading apostrophe, as OWASP advises against CSV injection. Numbers are written as
 * they are (a negative number is not a formula); `null` is an empty field.
 */
export type CsvCell = string | number | null;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

function field(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header record and the data records, as one CSV text. */
export function toCsv(header: string[], records: CsvCell[][]): string {
  return [header, ...records].map((record) => `${record.map(field).join(',')}\r\n`).join('');
}
