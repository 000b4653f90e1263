/** Polling mode: a Read of every node each `pollIntervalMs`, for servers that limit subscriptions. */
import { AttributeIds, type ClientSession, type DataValue, type ReadValueIdOptions } from 'node-opcua-client';
import type { Logger } from 'pino';
import { PollScheduler } from '../common/poll-scheduler.js';
import type { Reading } from '../contract.js';
import type { OpcuaDevice } from './config.js';
import { type Connection, type ConnectionKeeper, chunks, type DeviceStatus } from './connection.js';
import { errorMessage } from './identity.js';
import type { DevicePoints } from './points.js';

export class ReadLoop {
  private readonly nodeIds: string[];
  /** Point indexes of each entry of `nodeIds`. */
  private readonly pointsOfNode: number[][];

  constructor(
    private readonly device: OpcuaDevice,
    private readonly points: DevicePoints,
    private readonly link: ConnectionKeeper,
    private readonly status: DeviceStatus,
    private readonly logger: Logger,
  ) {
    this.nodeIds = [...points.byNodeId.keys()];
    this.pointsOfNode = [...points.byNodeId.values()];
  }

  /** Reads now and then on the kit's fixed grid until the connection closes. */
  async start(connection: Connection, session: ClientSession): Promise<void> {
    session.on('session_restored', () => this.status.connected());
    const scheduler = new PollScheduler({
      intervalMs: this.device.pollIntervalMs,
      poll: () => this.poll(connection, session),
      logger: this.logger,
    });
    // Not awaited: a Read stuck on a lost connection must not hold up the teardown.
    connection.cleanups.push(() => void scheduler.stop());
    scheduler.start();
  }

  private async poll(connection: Connection, session: ClientSession): Promise<void> {
    if (!this.link.isCurrent(connection)) return;
    try {
      const readings: Reading[] = [];
      const dataValues = await readValues(connection, session, this.nodeIds);
      const receivedAt = Date.now();
      this.pointsOfNode.forEach((points, index) => {
        const dataValue = dataValues[index];
        if (!dataValue) return;
        for (const point of points) this.points.collect(readings, point, dataValue, receivedAt);
      });
      this.status.connected();
      this.points.deliver(readings);
    } catch (error) {
      this.status.disconnected(`reading from ${this.device.endpoint} failed: ${errorMessage(error)}`);
    }
  }
}

/** Reads the Value of `nodeIds` in as many calls as the server's MaxNodesPerRead needs. */
export async function readValues(
  connection: Connection,
  session: ClientSession,
  nodeIds: readonly string[],
): Promise<DataValue[]> {
  const dataValues: DataValue[] = [];
  for (const chunk of chunks(nodeIds, connection.limits.maxNodesPerRead)) {
    const request: ReadValueIdOptions[] = chunk.map((nodeId) => ({
      nodeId,
      attributeId: AttributeIds.Value,
    }));
    dataValues.push(...(await session.read(request)));
  }
  return dataValues;
}
