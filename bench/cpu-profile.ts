/**
 * Where a process's CPU went, from the `.cpuprofile` that `node --cpu-prof` writes: every sample is
 * charged to the stage of the innermost frame that names one (so `JSON.stringify` called by the
 * outbox counts as encode, a socket write made by mqtt.js as publish), else to "other".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages in the order a sample is tested against them, each frame from the innermost outwards. */
const stages: ReadonlyArray<readonly [string, (url: string, fn: string) => boolean]> = [
  ['GC', (_url, fn) => fn === '(garbage collector)'],
  ['idle', (_url, fn) => fn === '(idle)'],
  [
    'encode (JSON, compression)',
    (url, fn) => /\/(json-encoder|compact-batch|batch-encoding)\.js$/.test(url) || fn === 'serialiseBatch',
  ],
  ['outbox (SQLite, deflate)', (url) => /\/gateway\/outbox\/|better-sqlite3/.test(url)],
  [
    'publish (MQTT client, socket)',
    (url) => /\/gateway\/(mqtt-link|connection-state)\.js$|node_modules\/mqtt(-packet)?\//.test(url),
  ],
  ['batch and normalise', (url) => /\/gateway\/(batcher|normalise|southbound)\.js$/.test(url)],
  ['adapter (Modbus)', (url) => /\/adapters\/(modbus|common)\/|node_modules\/modbus-serial\//.test(url)],
  ['adapter (OPC UA)', (url) => /\/adapters\/opcua\/|node_modules\/node-opcua/.test(url)],
  ['logs and metrics', (url) => /node_modules\/(pino|prom-client|sonic-boom)\//.test(url)],
];

/** Milliseconds of samples per stage, largest first, with each stage's share of the non-idle time. */
export function summariseCpuProfile(file: string): Array<{ stage: string; ms: number; share: number }> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stageOfNode = new Map<number, string>();
  const stageOf = (id: number): string => {
    const known = stageOfNode.get(id);
    if (known) return known;
    let stage = 'other (event loop, timers, runtime)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = (byId.get(at) as ProfileNode).callFrame;
      const match = stages.find(([, test]) => test(url, functionName));
      if (match) {
        stage = match[0];
        break;
      }
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const stage = stageOf(id);
    totals.set(stage, (totals.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  totals.delete('idle');
  const busy = [...totals.values()].reduce((sum, ms) => sum + ms, 0);
  return [...totals.entries()]
    .map(([stage, ms]) => ({ stage, ms, share: ms / busy }))
    .sort((a, b) => b.ms - a.ms);
}

/** The one profile `--cpu-prof-dir` received. */
export function profileIn(dir: string): string | undefined {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  return file ? join(dir, file) : undefined;
}
