/**
 * The collector's `network:` block: what the demonstration network is (Column 5 of the source
 * document, 专栏 5 京津冀联网智能制造示范行动): the targets it is measured against (10 demonstration
 * projects by 2020, 20 by 2025), and optionally the names and industries of its projects and what each
 * site is (industry, smart factory or digital workshop, city). Every field has a default, so `{}` is
 * a valid block. Gateways say which project a site belongs to; this block only describes them.
 */
import { z } from 'zod';
import { Identifier } from '../../gateway/schema/index.js';

export const industries = ['equipment-manufacturing', 'automotive', 'electronics', 'other'] as const;
export type Industry = (typeof industries)[number];

/** 智能工厂 (flow manufacturing) or 数字化车间 (discrete manufacturing). */
export const manufacturingModes = ['smart-factory', 'digital-workshop'] as const;
export type ManufacturingMode = (typeof manufacturingModes)[number];

const Industry = z
  .enum(industries, {
    error: (issue) => `unknown industry "${String(issue.input)}" (known: ${industries.join(', ')})`,
  })
  .describe('equipment-manufacturing, automotive, electronics or other');

const ManufacturingMode = z
  .enum(manufacturingModes, {
    error: (issue) => `unknown mode "${String(issue.input)}" (known: ${manufacturingModes.join(', ')})`,
  })
  .describe('smart-factory (智能工厂, flow manufacturing) or digital-workshop (数字化车间, discrete)');

const Name = z.strictObject({ zh: z.string().min(1).max(200), en: z.string().min(1).max(200) });

const Target = z.strictObject({
  year: z.number().int().min(2000).max(2100),
  projects: z.number().int().min(1).max(100_000).describe('demonstration projects in the network by then'),
});

/** Column 5 of the source document: 10 major demonstration projects by 2020, 20 by 2025. */
export const COLUMN_5_TARGETS = [
  { year: 2020, projects: 10 },
  { year: 2025, projects: 20 },
] as const;

const NetworkProject = z.strictObject({
  name: Name.optional().describe('the project in Chinese and English'),
  industry: Industry.optional(),
  summary: z.string().min(1).max(2000).optional().describe('one or two sentences on what it demonstrates'),
});

const NetworkSite = z.strictObject({
  industry: Industry.optional(),
  mode: ManufacturingMode.optional(),
  city: Name.optional().describe('where the site is, in Chinese and English'),
});

export const NetworkConfig = z
  .strictObject({
    targets: z
      .array(Target)
      .min(1)
      .max(20)
      .default(COLUMN_5_TARGETS.map((target) => ({ ...target })))
      .describe('demonstration projects the network should have by each year (default: Column 5)'),
    projects: z
      .record(Identifier, NetworkProject)
      .default({})
      .describe('names, industries and summaries of the demonstration projects, by project id'),
    sites: z
      .record(Identifier, NetworkSite)
      .default({})
      .describe('what each site is (industry, smart factory or digital workshop, city), by site id'),
  })
  .superRefine((network, ctx) => {
    const seen = new Set<number>();
    network.targets.forEach((target, index) => {
      if (seen.has(target.year))
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'year'],
          message: `a second target for ${target.year}`,
        });
      seen.add(target.year);
    });
  });
export type NetworkConfig = z.infer<typeof NetworkConfig>;
export type NetworkConfigInput = z.input<typeof NetworkConfig>;
