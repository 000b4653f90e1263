/**
 * The one place a device's connection state is de-duplicated and logged: an adapter tells the
 * reporter whatever it sees (every failed request, every restored session), and the gateway hears of
 * each change once, with one log line on the device's logger ("device connected" at info, "device
 * unreachable; retrying in background" at warn with the reason).
 */
import type { AdapterContext, DeviceState } from '../contract.js';

export class DeviceStateReporter {
  private current: DeviceState | undefined;

  /**
   * @param where fields that say which device is meant (endpoint, host and port…), logged with each change
   */
  constructor(
    private readonly deviceId: string,
    private readonly context: Pick<AdapterContext, 'sink' | 'logger'>,
    private readonly where: Readonly<Record<string, unknown>> = {},
  ) {}

  /** The last state reported; undefined before the first report and after `stopped()`. */
  get state(): DeviceState | undefined {
    return this.current;
  }

  /** Reports `state` unless it is the one last reported; tells whether it was a change. */
  report(state: DeviceState, detail?: string): boolean {
    if (this.current === state) return false;
    this.current = state;
    const { logger, sink } = this.context;
    if (state === 'connected') logger.info(this.where, 'device connected');
    else logger.warn({ ...this.where, reason: detail }, 'device unreachable; retrying in background');
    sink.deviceState(this.deviceId, state, detail);
    return true;
  }

  /**
   * The adapter stopped: logs the end of a live connection and forgets the state, so the next start
   * reports afresh. The gateway is not told: a stopped device is not an outage.
   */
  stopped(): void {
    if (this.current === 'connected') this.context.logger.info(this.where, 'device disconnected (stopped)');
    this.current = undefined;
  }
}
