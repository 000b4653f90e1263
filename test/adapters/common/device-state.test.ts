/** The device-state reporter: each change reaches the sink once, with one log line. */
import { describe, expect, it } from 'vitest';
import { DeviceStateReporter } from '../../../adapters/common/device-state.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

function reporter() {
  const sink = new RecordingSink('press-01');
  const log = capturingLogger();
  const state = new DeviceStateReporter(
    'press-01',
    { sink, logger: log.logger },
    { endpoint: 'opc.tcp://x:4840' },
  );
  return { sink, log, state };
}

describe('DeviceStateReporter', () => {
  it('reports each change once, however often the adapter repeats it', () => {
    const { sink, log, state } = reporter();
    expect(state.report('disconnected', 'ECONNREFUSED')).toBe(true);
    expect(state.report('disconnected', 'ECONNREFUSED again')).toBe(false);
    expect(state.report('connected')).toBe(true);
    expect(state.report('connected')).toBe(false);
    expect(state.state).toBe('connected');
    expect(sink.states).toEqual([
      { state: 'disconnected', detail: 'ECONNREFUSED' },
      { state: 'connected', detail: undefined },
    ]);
    expect(log.lines.map(({ level, msg }) => [level, msg])).toEqual([
      [40, 'device unreachable; retrying in background'],
      [30, 'device connected'],
    ]);
    expect(log.lines[0]).toMatchObject({ endpoint: 'opc.tcp://x:4840', reason: 'ECONNREFUSED' });
  });

  it('on stop, logs the end of a live connection without telling the sink, and reports afresh after', () => {
    const { sink, log, state } = reporter();
    state.report('connected');
    state.stopped();
    expect(state.state).toBeUndefined();
    expect(log.lines.at(-1)?.msg).toBe('device disconnected (stopped)');
    expect(state.report('connected')).toBe(true);
    expect(sink.states.map((s) => s.state)).toEqual(['connected', 'connected']);
  });
});
