/**
 * What the console's command form needs to know of a point, kept by every store from the gateway's
 * metadata: data type, description, declared range and whether commands may write it. Points the
 * metadata never described (learned from telemetry) answer nulls and not writable.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TelemetryStore } from '../../cloud/store/store.js';
import { metadata, SITE, TS, telemetry } from './fixtures.js';
import { type StoreSubject, storeSubjects } from './store/store-subjects.js';

const SETPOINT = `${SITE}/machining/plc-machining/speed-setpoint`;
const SPINDLE = `${SITE}/machining/cnc-01/spindle-speed`;
const PROGRAM = `${SITE}/machining/cnc-01/program`;

const { subjects, cleanup } = storeSubjects('jjj-point-metadata-');
afterAll(cleanup);

describe.each(subjects)("points' metadata in the %s store", (_name, open) => {
  let subject: StoreSubject;
  let store: TelemetryStore;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  }, 60_000);
  afterEach(async () => {
    await subject.close();
  });

  const withSetpoint = (writable: boolean | undefined) => {
    const message = metadata();
    message.points.push({
      line: 'machining',
      equipment: 'plc-machining',
      point: 'speed-setpoint',
      protocol: 'modbus',
      address: 'holding/6',
      dataType: 'uint16',
      description: 'line speed set point, parts per hour',
      min: 0,
      max: 3600,
      ...(writable !== undefined && { writable }),
    });
    return message;
  };

  it('answers data type, description, range and the writable flag as the metadata declared them', async () => {
    await store.writeMetadata(withSetpoint(true));
    const points = await store.points(SITE);
    expect(points?.find((p) => p.pointId === SETPOINT)).toEqual({
      pointId: SETPOINT,
      line: 'machining',
      equipment: 'plc-machining',
      point: 'speed-setpoint',
      protocol: 'modbus',
      unit: null,
      dataType: 'uint16',
      description: 'line speed set point, parts per hour',
      min: 0,
      max: 3600,
      writable: true,
    });
    // Declared without range, description or writable flag: nulls and not writable.
    expect(points?.find((p) => p.pointId === SPINDLE)).toEqual({
      pointId: SPINDLE,
      line: 'machining',
      equipment: 'cnc-01',
      point: 'spindle-speed',
      protocol: 'opcua',
      unit: 'RPM',
      dataType: 'float64',
      description: null,
      min: null,
      max: null,
      writable: false,
    });
  });

  it('follows the metadata when a point stops being writable, and knows nothing of points only seen in telemetry', async () => {
    await store.writeMetadata(withSetpoint(true));
    await store.writeMetadata(withSetpoint(false));
    expect((await store.points(SITE))?.find((p) => p.pointId === SETPOINT)?.writable).toBe(false);
    await store.writeMetadata(withSetpoint(undefined));
    expect((await store.points(SITE))?.find((p) => p.pointId === SETPOINT)?.writable).toBe(false);

    await store.writeTelemetry(telemetry(), TS);
    expect((await store.points(SITE))?.find((p) => p.pointId === PROGRAM)).toEqual({
      pointId: PROGRAM,
      line: 'machining',
      equipment: 'cnc-01',
      point: 'program',
      protocol: null,
      unit: null,
      dataType: null,
      description: null,
      min: null,
      max: null,
      writable: false,
    });
  });
});
