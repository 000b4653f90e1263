/**
 * `GET /api/v1/projects` (viewer role, like every query route): the demonstration projects the
 * network knows, the configured ones (`network.projects`) and those of the registered sites, each with
 * its regions and sites, and the network's progress against the targets of Column 5. A project is
 * "in the network" when at least one of its sites has registered (a gateway reported for it).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Region, regions } from '../../gateway/schema/index.js';
import { parseRequest } from '../query-params.js';
import type { SiteSummary, TelemetryStore } from '../store/store.js';
import type { Industry, ManufacturingMode, NetworkConfig } from './config.js';

export interface LocalizedText {
  zh: string;
  en: string;
}

export interface NetworkSite {
  id: string;
  /** English name; the site id until metadata has named it. */
  name: string;
  nameZh: string | null;
  region: Region;
  industry: Industry | null;
  mode: ManufacturingMode | null;
  city: LocalizedText | null;
}

export interface NetworkProject {
  id: string;
  name: LocalizedText | null;
  industry: Industry | null;
  summary: string | null;
  /** The regions of its registered sites, in the order BJ, TJ, HE. */
  regions: Region[];
  /** Its registered sites, by id. */
  sites: NetworkSite[];
}

export interface ProjectsAnswer {
  targets: { year: number; projects: number }[];
  counts: {
    /** Projects with at least one registered site. */
    inNetwork: number;
    /** Projects named in `network.projects`. */
    configured: number;
  };
  projects: NetworkProject[];
}

const NoQuery = z.strictObject({});

/** The network's projects from the configuration and the registered sites, sorted by id. */
export function networkProjects(network: NetworkConfig, registered: readonly SiteSummary[]): ProjectsAnswer {
  const ids = new Set([...Object.keys(network.projects), ...registered.map((site) => site.project)]);
  const projects = [...ids].sort().map((id): NetworkProject => {
    const configured = Object.hasOwn(network.projects, id) ? network.projects[id] : undefined;
    const sites = registered
      .filter((site) => site.project === id)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((site): NetworkSite => {
        const about = Object.hasOwn(network.sites, site.id) ? network.sites[site.id] : undefined;
        return {
          id: site.id,
          name: site.name,
          nameZh: site.nameZh,
          region: site.region,
          industry: about?.industry ?? null,
          mode: about?.mode ?? null,
          city: about?.city ?? null,
        };
      });
    return {
      id,
      name: configured?.name ?? null,
      industry: configured?.industry ?? null,
      summary: configured?.summary ?? null,
      regions: regions.filter((region) => sites.some((site) => site.region === region)),
      sites,
    };
  });
  return {
    targets: [...network.targets].sort((a, b) => a.year - b.year),
    counts: {
      inNetwork: projects.filter((project) => project.sites.length > 0).length,
      configured: Object.keys(network.projects).length,
    },
    projects,
  };
}

export interface NetworkRouteDependencies {
  store: TelemetryStore;
  /** The collector's `network` block. */
  network: NetworkConfig;
}

export function registerNetworkRoutes(app: FastifyInstance, deps: NetworkRouteDependencies): void {
  app.get('/api/v1/projects', async (request, reply) => {
    if (!parseRequest(NoQuery, request.query, reply)) return reply;
    return networkProjects(deps.network, await deps.store.listSites());
  });
}
