/**
 * A Sparkplug unit (`engUnit`, or the `Unit` property) as the collector stores it. Units are
 * case-sensitive (`mW` is not `MW`), so only exact spellings are mapped:
 * - a code-shaped text (2–3 upper-case letters or digits, as jjj gateways send) is kept as it is;
 * - a common symbol with one meaning is mapped to its UNECE Recommendation 20 code (`°C` → `CEL`);
 * - anything else (`gal/min`, `C`, which may be coulomb or Celsius) is kept as the text the node sent
 *   (at most 32 characters), so nothing is guessed and nothing lost.
 */
const uneceCodes = new Map<string, string>(
  Object.entries({
    '°C': 'CEL',
    '℃': 'CEL',
    degC: 'CEL',
    '°F': 'FAH',
    '℉': 'FAH',
    degF: 'FAH',
    K: 'KEL',
    Pa: 'PAL',
    kPa: 'KPA',
    MPa: 'MPA',
    bar: 'BAR',
    mbar: 'MBR',
    psi: 'PS',
    V: 'VLT',
    mV: '2Z',
    kV: 'KVT',
    A: 'AMP',
    mA: '4K',
    W: 'WTT',
    kW: 'KWT',
    MW: 'MAW',
    Wh: 'WHR',
    kWh: 'KWH',
    MWh: 'MWH',
    kVA: 'KVA',
    Hz: 'HTZ',
    rpm: 'RPM',
    '1/min': 'RPM',
    mm: 'MMT',
    cm: 'CMT',
    m: 'MTR',
    km: 'KMT',
    'm/s': 'MTS',
    g: 'GRM',
    kg: 'KGM',
    t: 'TNE',
    l: 'LTR',
    L: 'LTR',
    'l/min': 'L2',
    'L/min': 'L2',
    m3: 'MTQ',
    'm³': 'MTQ',
    'm3/h': 'MQH',
    'm³/h': 'MQH',
    ms: 'C26',
    s: 'SEC',
    min: 'MIN',
    h: 'HUR',
    '%': 'P1',
    N: 'NEU',
    Nm: 'NU',
    N·m: 'NU',
  }),
);

const CODE_SHAPED = /^[A-Z0-9]{2,3}$/;
const MAX_UNIT_TEXT = 32;

/** The unit to store; `undefined` for an empty or non-text unit. */
export function unitOf(unit: unknown): string | undefined {
  if (typeof unit !== 'string') return undefined;
  const text = unit.trim();
  if (text === '') return undefined;
  if (CODE_SHAPED.test(text)) return text;
  return uneceCodes.get(text) ?? text.slice(0, MAX_UNIT_TEXT);
}
