/**
 * Where a Sparkplug edge node from another vendor lands in the jjj namespace: the `sparkplug.nodes`
 * entries of the collector config (first match wins), or the quarantine for a node none matches.
 * Nodes that carry jjj's own NBIRTH properties (`Properties/Region`, …) need no entry.
 */
import { z } from 'zod';
import { Identifier, Region } from '../../gateway/schema/index.js';
import { expandTemplate, namePattern, stableId, templateProblem } from './names.js';

const NamePattern = z
  .string()
  .min(1)
  .describe('a Sparkplug name exactly, or a glob where * matches any run of characters');

const Template = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    const problem = templateProblem(template);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('an identifier, or a text with {group}, {node} or {device} made into one (cloud/README.md)');

export const SparkplugNodeMapping = z.strictObject({
  group: NamePattern.default('*'),
  node: NamePattern.default('*'),
  device: NamePattern.default('*').describe("matched against the node's own name for node-level metrics"),
  region: Region,
  project: Identifier,
  site: Template,
  line: Template.default('{node}'),
  equipment: Template.default('{device}'),
  gateway: Template.default('{group}/{node}').describe('gateway ids are global: the default cannot collide'),
  siteName: z
    .strictObject({ en: z.string().min(1), zh: z.string().min(1).optional() })
    .optional()
    .describe('default: the group name'),
});
export type SparkplugNodeMapping = z.infer<typeof SparkplugNodeMapping>;

/** The `sparkplug` fields of issue 14 §1 (third-party edge nodes); spread into the config's `sparkplug` block. */
export const sparkplugMappingFields = {
  nodes: z
    .array(SparkplugNodeMapping)
    .default([])
    .describe(
      'region, project, site and gateway from the first entry matching group and node; line and equipment from the first matching group, node and device',
    ),
  unmapped: z
    .enum(['dead-letter', 'quarantine'])
    .default('dead-letter')
    .describe('a node no entry matches: its NBIRTH dead-lettered once, or stored under `quarantine`'),
  quarantine: z
    .strictObject({
      region: Region,
      project: Identifier.default('unassigned'),
      site: Identifier.default('sparkplug-quarantine'),
    })
    .optional()
    .describe('where unmapped nodes are stored (line {group}/{node}, equipment {device})'),
  rebirthBackoffMs: z
    .number()
    .int()
    .min(1000)
    .default(60_000)
    .describe('a node is asked for a rebirth at most this often; doubled while it keeps failing'),
  rebirthBackoffMaxMs: z.number().int().min(1000).default(3_600_000).describe('the longest back-off'),
  reorderTimeoutMs: z
    .number()
    .int()
    .min(0)
    .default(5_000)
    .describe('how long a skipped seq may still arrive before it counts as lost and a rebirth is asked'),
};

export const SparkplugMappingConfig = z.object(sparkplugMappingFields);
export type SparkplugMappingConfig = z.infer<typeof SparkplugMappingConfig>;

/** A node's place: what every message of its session carries. */
export interface NodePlacement {
  how: 'mapped' | 'quarantine';
  region: Region;
  project: string;
  site: string;
  gateway: string;
  siteName: { en: string; zh: string };
  /** Line and equipment of one of its devices (the node's own name for node-level metrics). */
  deviceAt(device: string): { line: string; equipment: string };
}

interface CompiledEntry {
  entry: SparkplugNodeMapping;
  group: (name: string) => boolean;
  node: (name: string) => boolean;
  device: (name: string) => boolean;
}

export class SparkplugMapping {
  private readonly entries: CompiledEntry[];

  constructor(private readonly config: Pick<SparkplugMappingConfig, 'nodes' | 'unmapped' | 'quarantine'>) {
    this.entries = config.nodes.map((entry) => ({
      entry,
      group: namePattern(entry.group),
      node: namePattern(entry.node),
      device: namePattern(entry.device),
    }));
  }

  /** The node's place; `undefined` when no entry matches and unmapped nodes are dead-lettered. */
  placementOf(group: string, node: string): NodePlacement | undefined {
    const first = this.entries.find((e) => e.group(group) && e.node(node))?.entry;
    if (first) {
      const names = { group, node, device: node };
      return {
        how: 'mapped',
        region: first.region,
        project: first.project,
        site: expandTemplate(first.site, names),
        gateway: expandTemplate(first.gateway, names),
        siteName: { en: first.siteName?.en ?? group, zh: first.siteName?.zh ?? first.siteName?.en ?? group },
        deviceAt: (device) => {
          const deviceNames = { group, node, device };
          const match =
            this.entries.find((e) => e.group(group) && e.node(node) && e.device(device))?.entry ?? first;
          return {
            line: expandTemplate(match.line, deviceNames),
            equipment: expandTemplate(match.equipment, deviceNames),
          };
        },
      };
    }
    const quarantine = this.config.quarantine;
    if (this.config.unmapped !== 'quarantine' || !quarantine) return undefined;
    // Each node its own line and gateway, so two quarantined nodes never share a point.
    const nodeId = stableId(`${group}/${node}`);
    return {
      how: 'quarantine',
      region: quarantine.region,
      project: quarantine.project,
      site: quarantine.site,
      gateway: nodeId,
      siteName: { en: 'Sparkplug quarantine', zh: 'Sparkplug 隔离区' },
      deviceAt: (device) => ({ line: nodeId, equipment: stableId(device) }),
    };
  }
}
