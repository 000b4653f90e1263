/** The CSV writer of the compare export: RFC 4180 quoting and formula-looking texts neutralised. */
import { describe, expect, it } from 'vitest';
import { toCsv } from '../../../cloud/kpi/csv.js';

describe('toCsv', () => {
  it('quotes fields holding a comma, a quote or a line break, and ends every record with CRLF', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['plain', 'with, comma'],
          ['say "hi"', 'two\nlines'],
        ],
      ),
    ).toBe('a,b\r\nplain,"with, comma"\r\n"say ""hi""","two\nlines"\r\n');
  });

  it('writes numbers as they are, null as an empty field', () => {
    expect(toCsv(['x', 'y', 'z'], [[-1.5, null, 0]])).toBe('x,y,z\r\n-1.5,,0\r\n');
  });

  it('neutralises a text a spreadsheet would run as a formula', () => {
    expect(toCsv(['name'], [['=HYPERLINK("http://evil")'], ['+1'], ['-2'], ['@SUM(A1)'], ['ok']])).toBe(
      'name\r\n"\'=HYPERLINK(""http://evil"")"\r\n\'+1\r\n\'-2\r\n\'@SUM(A1)\r\nok\r\n',
    );
  });
});
