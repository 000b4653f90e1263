/**
 * How often a Sparkplug node may be asked for something: a rebirth (NCMD) no more often than its
 * back-off, which doubles each time the node needs asking again before it has stayed well for as long;
 * and a plain per-node rate limit (dead letters of data without a birth). Memory is bounded: a peer
 * inventing node names evicts the oldest entries, never grows the maps without end.
 */
const MAX_NODES = 10_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_NODES) map.delete(map.keys().next().value as string);
}

export class RebirthBackoff {
  private readonly nodes = new Map<string, { nextAt: number; delay: number }>();

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** True when the node may be asked now (and the ask is recorded); false while its back-off runs. */
  mayAsk(node: string, now: number): boolean {
    const held = this.nodes.get(node);
    if (held && now < held.nextAt) return false;
    const delay = held ? Math.min(held.delay * 2, this.maxMs) : this.minMs;
    remember(this.nodes, node, { nextAt: now + delay, delay });
    return true;
  }

  /** The node's data read well: once that lasted a whole back-off past its end, it starts again from the minimum. */
  wasWell(node: string, now: number): void {
    const held = this.nodes.get(node);
    if (held && now >= held.nextAt + held.delay) this.nodes.delete(node);
  }
}

export class NodeRateLimit {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** True at most once per interval per node. */
  allow(node: string, now: number): boolean {
    const at = this.last.get(node);
    if (at !== undefined && now - at < this.intervalMs) return false;
    remember(this.last, node, now);
    return true;
  }
}
