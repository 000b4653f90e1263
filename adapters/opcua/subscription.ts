/**
 * Subscription mode: one subscription per session with a monitored item per node, each publish handed on
 * as one batch. node-opcua re-creates the subscription and its items after a server restart, keeping
 * their client handles; it drops the items a server refuses, which are tried again here after each restore.
 */
import {
  AttributeIds,
  type ClientMonitoredItemBase,
  type ClientSession,
  type ClientSubscription,
  DataChangeFilter,
  DataChangeNotification,
  DataChangeTrigger,
  DeadbandType,
  type NotificationMessage,
  ReadValueId,
  TimestampsToReturn,
} from 'node-opcua-client';
import type { Logger } from 'pino';
import type { Reading } from '../contract.js';
import type { OpcuaDevice, OpcuaPoint } from './config.js';
import { type Connection, type ConnectionKeeper, chunks, type DeviceStatus } from './connection.js';
import { qualityOf, statusOf } from './decode.js';
import { errorMessage } from './identity.js';
import type { DevicePoints } from './points.js';

/**
 * Changes per publish response unless the device says otherwise. A server sends the rest in further
 * responses straight away (node-opcua keeps several publish requests in flight), and the gateway then
 * decodes and hands on one small response at a time instead of holding all of a large device's changes.
 */
const DEFAULT_MAX_NOTIFICATIONS_PER_PUBLISH = 1000;

interface MonitoringOptions {
  samplingIntervalMs: number;
  queueSize: number;
  discardOldest: boolean;
  deadband?: OpcuaPoint['deadband'];
}

export class Subscriber {
  /**
   * Points by the client handle of their monitored item; handles survive node-opcua's re-creation. A
   * subscription numbers its handles 1, 2, 3…, so an array indexed by handle is dense (a Map of 10,000s
   * of entries takes several times the memory).
   */
  private readonly pointsByHandle: (number[] | undefined)[] = [];

  constructor(
    private readonly device: OpcuaDevice,
    private readonly points: DevicePoints,
    private readonly link: ConnectionKeeper,
    private readonly status: DeviceStatus,
    private readonly logger: Logger,
  ) {}

  async start(connection: Connection, session: ClientSession): Promise<void> {
    let subscription: ClientSubscription | undefined;
    /** Node ids the server refused to monitor, tried again after each session restore. */
    let refused: readonly string[] = [];
    // Emitted once node-opcua has reactivated or recreated the session and its subscription.
    session.on('session_restored', () => {
      this.status.connected();
      if (!subscription) return;
      this.monitor(connection, subscription, refused).then(
        (stillRefused) => {
          refused = stillRefused;
        },
        (error: unknown) =>
          this.logger.warn({ reason: errorMessage(error) }, 'monitoring refused nodes again failed'),
      );
    });
    subscription = await session.createSubscription2({
      requestedPublishingInterval: this.device.publishingIntervalMs,
      requestedMaxKeepAliveCount: 10,
      requestedLifetimeCount: 60,
      maxNotificationsPerPublish:
        this.device.maxNotificationsPerPublish ?? DEFAULT_MAX_NOTIFICATIONS_PER_PUBLISH,
      publishingEnabled: true,
      priority: 1,
    });
    this.link.watchSilence(connection, subscription);
    subscription.on('received_notifications', (message: NotificationMessage) =>
      this.onNotifications(message),
    );
    subscription.on('terminated', () =>
      this.link.rebuildLater(connection, new Error('the server ended the subscription')),
    );
    refused = await this.monitor(connection, subscription, [...this.points.byNodeId.keys()]);
  }

  /**
   * Adds monitored items for `nodeIds`, one CreateMonitoredItems call per group of equal options and at
   * most the server's MaxMonitoredItemsPerCall items each; returns the node ids the server refused
   * (e.g. BadNodeIdUnknown): a restarted server may know them by the next restore.
   */
  private async monitor(
    connection: Connection,
    subscription: ClientSubscription,
    nodeIds: readonly string[],
  ): Promise<string[]> {
    const refused: string[] = [];
    if (nodeIds.length === 0) return refused;
    const groups = new Map<string, { options: MonitoringOptions; nodeIds: string[] }>();
    for (const nodeId of nodeIds) {
      const point = this.device.points[this.points.byNodeId.get(nodeId)?.[0] ?? -1];
      if (!point) continue;
      const options = this.monitoringOptions(point);
      const key = JSON.stringify(options);
      const group = groups.get(key) ?? { options, nodeIds: [] };
      group.nodeIds.push(nodeId);
      groups.set(key, group);
    }
    for (const { options, nodeIds: groupIds } of groups.values()) {
      for (const chunk of chunks(groupIds, connection.limits.maxMonitoredItemsPerCall)) {
        const group = await subscription.monitorItems(
          chunk.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
          {
            samplingInterval: options.samplingIntervalMs,
            queueSize: options.queueSize,
            discardOldest: options.discardOldest,
            ...(options.deadband && {
              filter: new DataChangeFilter({
                trigger: DataChangeTrigger.StatusValue,
                deadbandType:
                  options.deadband.type === 'absolute' ? DeadbandType.Absolute : DeadbandType.Percent,
                deadbandValue: options.deadband.value,
              }),
            }),
          },
          TimestampsToReturn.Both,
        );
        for (const item of group.monitoredItems) {
          slim(item);
          const points = this.points.byNodeId.get(item.itemToMonitor.nodeId.toString());
          if (points) this.pointsByHandle[item.monitoringParameters.clientHandle] = points;
        }
        refused.push(...this.reportRefusedItems(group.monitoredItems));
      }
    }
    return refused;
  }

  private monitoringOptions(point: OpcuaPoint): MonitoringOptions {
    const device = this.device;
    const deadband = point.deadband ?? device.deadband;
    return {
      samplingIntervalMs: point.samplingIntervalMs ?? device.samplingIntervalMs,
      queueSize: point.queueSize ?? device.queueSize,
      discardOldest: point.discardOldest ?? device.discardOldest,
      ...(deadband && { deadband }),
    };
  }

  /** One publish response = one call to the sink. */
  private onNotifications(message: NotificationMessage): void {
    const receivedAt = Date.now();
    const readings: Reading[] = [];
    for (const data of message.notificationData ?? []) {
      if (!(data instanceof DataChangeNotification)) continue;
      for (const change of data.monitoredItems ?? []) {
        for (const point of this.pointsByHandle[change.clientHandle] ?? []) {
          this.points.collect(readings, point, change.value, receivedAt);
        }
      }
    }
    this.points.deliver(readings);
  }

  /** A node the server refuses to monitor gets one bad reading and one log line; returns their node ids. */
  private reportRefusedItems(items: readonly ClientMonitoredItemBase[]): string[] {
    const now = Date.now();
    const readings: Reading[] = [];
    const refused: string[] = [];
    for (const item of items) {
      const status = statusOf(item.statusCode);
      if (!status || qualityOf(status.code) !== 'bad') continue;
      const nodeId = item.itemToMonitor.nodeId.toString();
      refused.push(nodeId);
      this.logger.warn({ nodeId, status: status.name }, 'server refused to monitor node');
      this.points.collectRefused(readings, nodeId, status, now);
    }
    this.points.deliver(readings);
    return refused;
  }
}

/** The default (whole value) index range and encoding, one of each for every monitored item. */
const wholeValue = new ReadValueId({});

/**
 * Drops what node-opcua keeps per monitored item that nothing here uses, about 200 bytes of its ~900
 * (2 MB at 10,000 items): the listener its group adds to each item (notifications are taken whole
 * from the subscription) and a default index range and encoding of the item's own. What node-opcua
 * needs to re-create the item after a server restart (node id, parameters, handle) stays.
 */
function slim(item: ClientMonitoredItemBase): void {
  item.removeAllListeners('changed');
  const target = item.itemToMonitor;
  if (!(target instanceof ReadValueId)) return;
  if (target.indexRange.type === wholeValue.indexRange.type) target.indexRange = wholeValue.indexRange;
  if (target.dataEncoding.isEmpty() && target.dataEncoding.namespaceIndex === 0) {
    target.dataEncoding = wholeValue.dataEncoding;
  }
}
