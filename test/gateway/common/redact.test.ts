/** Redaction is pure text work: the cases a log line or an error message can carry. */
import { describe, expect, it } from 'vitest';
import { redactCredentials } from '../../../gateway/common/redact.js';

describe('redactCredentials', () => {
  it.each([
    ['mqtt://user:secret@host:1883', 'mqtt://user:***@host:1883'],
    ['mqtts://gw:p%40ss@broker.plant/x', 'mqtts://gw:***@broker.plant/x'],
    // An unencoded @ in the password: everything up to the last @ of the authority goes.
    ['wss://gw:p@ss@broker:443/mqtt', 'wss://gw:***@broker:443/mqtt'],
    [
      'http://influx:8086/write?db=jjj&u=collector&p=secret&rp=',
      'http://influx:8086/write?db=jjj&u=collector&p=***&rp=',
    ],
    ['https://h/api?token=abc#x', 'https://h/api?token=***#x'],
    ['cannot reach mqtt://a:b@h:1 nor ws://c:d@h:2', 'cannot reach mqtt://a:***@h:1 nor ws://c:***@h:2'],
  ])('%s', (text, redacted) => {
    expect(redactCredentials(text)).toBe(redacted);
  });

  it('leaves URLs without a password as they are', () => {
    for (const text of [
      'mqtt://host:1883',
      'mqtt://user@host',
      'opc.tcp://127.0.0.1:4840',
      'http://h/?db=x&up=1',
    ]) {
      expect(redactCredentials(text)).toBe(text);
    }
  });
});
