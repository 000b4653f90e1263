/** Sparkplug B on the wire: the edge node's messages as a `WireEncoder` for the MQTT link. */
import type { WireEncoder } from '../mqtt-link.js';
import type { SparkplugEdgeNode } from './edge-node.js';

export function sparkplugEncoder(node: SparkplugEdgeNode): WireEncoder {
  return {
    will: () => node.nextSessionWill(),
    birth: () => node.births(),
    death: () => node.death(),
    // The NDEATH of a session is its Will, byte for byte.
    willIsDeath: true,
    // Sparkplug has no replay of its own: replayed values go out as DDATA marked is_historical.
    batch: ({ batch }, historical) => node.data(batch, historical),
    subscriptions: () => node.subscriptions(),
  };
}
