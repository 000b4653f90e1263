/** The connection state machine is pure logic: its actions here only record what they were asked. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConnectionStateMachine } from '../../gateway/connection-state.js';

function machine(hostOnline = true) {
  const host = { online: hostOnline };
  const calls: string[] = [];
  const lines: string[] = [];
  const connection = new ConnectionStateMachine(
    {
      hostOnline: () => host.online,
      birth: () => calls.push('birth'),
      dataFlow: (flowing) => calls.push(flowing ? 'flow' : 'hold'),
      endSession: () => calls.push('end-session'),
    },
    pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
  );
  return { connection, host, calls, lines };
}

describe('ConnectionStateMachine', () => {
  it('without a primary host: announced at link up (birth, then data), offline at link down', () => {
    const { connection, calls } = machine();
    expect(connection.state).toBe('offline');
    connection.linkUp();
    expect(connection.state).toBe('announced');
    expect(calls).toEqual(['birth', 'flow']);
    connection.linkDown();
    expect(connection.state).toBe('offline');
    expect(calls).toEqual(['birth', 'flow', 'hold']);
    connection.linkUp();
    expect(calls).toEqual(['birth', 'flow', 'hold', 'birth', 'flow']);
  });

  it('with a primary host: waits for it, announces when it comes online, ends the session when it goes', () => {
    const { connection, host, calls, lines } = machine(false);
    connection.linkUp();
    expect(connection.state).toBe('waiting-for-host');
    expect(calls).toEqual([]);
    host.online = true;
    connection.hostChanged();
    expect(connection.state).toBe('announced');
    expect(calls).toEqual(['birth', 'flow']);
    host.online = false;
    connection.hostChanged();
    expect(connection.state).toBe('offline');
    expect(calls).toEqual(['birth', 'flow', 'hold', 'end-session']);
    // A repeated STATE changes nothing and logs nothing more.
    connection.hostChanged();
    expect(calls).toHaveLength(4);
    // The link reports the end of the session, then the new one: the host is still offline.
    connection.linkDown();
    connection.linkUp();
    expect(connection.state).toBe('waiting-for-host');
    expect(calls).toHaveLength(4);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
      'primary host online: publishing births and data',
      'primary host offline: ending the session (death) to wait for it on a new one; data waits in the outbox',
    ]);
  });

  it('a host coming online while the link is down announces nothing until the link is up', () => {
    const { connection, host, calls } = machine(false);
    host.online = true;
    connection.hostChanged();
    expect(connection.state).toBe('offline');
    expect(calls).toEqual([]);
    connection.linkUp();
    expect(connection.state).toBe('announced');
    expect(calls).toEqual(['birth', 'flow']);
  });

  it('losing the link while waiting for the host holds nothing (no data was flowing)', () => {
    const { connection, calls } = machine(false);
    connection.linkUp();
    connection.linkDown();
    expect(connection.state).toBe('offline');
    expect(calls).toEqual([]);
  });

  it('a rebirth request sends the birth again only while announced', () => {
    const { connection, host, calls } = machine(false);
    connection.rebirth();
    connection.linkUp();
    connection.rebirth();
    expect(calls).toEqual([]);
    host.online = true;
    connection.hostChanged();
    connection.rebirth();
    expect(calls).toEqual(['birth', 'flow', 'birth']);
  });
});
