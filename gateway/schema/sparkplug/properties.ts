/**
 * jjj's names and codes inside Sparkplug B payloads, written once for both ends: the gateway's edge
 * node writes them, the collector's host reads them back.
 */
import type { Quality } from '../index.js';

/** The NCMD metric a host sets to true to ask a node for its births again. */
export const REBIRTH_METRIC = 'Node Control/Rebirth';
/** The birth/death sequence number: an NDEATH belongs to the session whose NBIRTH carried the same. */
export const BDSEQ_METRIC = 'bdSeq';

/** NBIRTH metrics that place the node in the Jing-Jin-Ji network (group = site, node = gateway). */
export const nodeProperties = {
  region: 'Properties/Region',
  project: 'Properties/Project',
  siteName: 'Properties/Site Name',
  siteNameZh: 'Properties/Site Name (zh)',
  boot: 'Properties/Boot',
} as const;

/** DBIRTH metric properties: a point's metadata (the metric name is the point, the device its equipment). */
export const pointProperties = {
  line: 'Line',
  protocol: 'Protocol',
  address: 'Address',
  unit: 'Unit',
  min: 'Min',
  max: 'Max',
  writable: 'Writable',
  /**
   * The point's KPI role (`KpiRole`) as JSON text. Not a nested PropertySet: a machine state's
   * `values` map has arbitrary keys ("3", "true", "RUN") and `bits` is a list of objects, which a
   * PropertySet (typed, name-keyed, no lists of sets) cannot carry cleanly; one String property
   * round-trips the role exactly, and a consumer that does not know it simply ignores it.
   */
  kpi: 'KpiRole',
} as const;

/** Metric properties of a value that is not good (good is what Sparkplug consumers assume). */
export const qualityProperties = {
  quality: 'Quality',
  statusCode: 'StatusCode',
  statusSource: 'StatusSource',
  statusName: 'StatusName',
  serverTimestamp: 'ServerTimestamp',
} as const;

/** OPC-classic quality codes, as Ignition and Tahu read the `Quality` property. */
export const qualityCodes = { good: 192, uncertain: 64, bad: 0 } as const satisfies Record<Quality, number>;

/** OPC-classic 0–255 ranges (what this gateway, Tahu and Ignition 7 send); Ignition 8 codes by level bits. */
export function qualityOfCode(code: number): Quality {
  if (code >= 0 && code <= 255) {
    return code >= qualityCodes.good ? 'good' : code >= qualityCodes.uncertain ? 'uncertain' : 'bad';
  }
  const level = (code >>> 30) & 0b11;
  return level === 0 ? 'good' : level === 1 ? 'uncertain' : 'bad';
}
