/** A sink that records what an adapter hands the gateway, and a polling wait for tests. */
import type { DeviceState, Reading, SouthboundSink } from '../../../adapters/contract.js';

export class RecordingSink implements SouthboundSink {
  readonly batches: Reading[][] = [];
  readonly states: { state: DeviceState; detail?: string }[] = [];
  readings(_deviceId: string, readings: readonly Reading[]): void {
    this.batches.push([...readings]);
  }
  deviceState(_deviceId: string, state: DeviceState, detail?: string): void {
    this.states.push({ state, detail });
  }
  of(point: string): Reading[] {
    return this.batches.flat().filter((reading) => reading.point === point);
  }
}

/** Polls until `condition` holds; fails the test with `what` if it never does. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
