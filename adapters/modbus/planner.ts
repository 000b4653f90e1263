/**
 * Pure read planning: turns the points of one device into as few read requests as the protocol
 * allows, so twenty registers side by side cost one round trip, not twenty.
 */

export const modbusTables = ['holding', 'input', 'coil', 'discrete'] as const;
export type ModbusTable = (typeof modbusTables)[number];

/** Most items one read may return (Modbus application protocol v1.1b3, function codes 1–4). */
export const protocolLimits: Record<ModbusTable, number> = {
  holding: 125,
  input: 125,
  coil: 2000,
  discrete: 2000,
};

/** Something to read: `length` registers (or bits, for coil and discrete) from `address`. */
export interface PlanItem {
  table: ModbusTable;
  address: number;
  length: number;
}

export interface PlanOptions {
  /** Unrequested addresses a request may span between two items; 0 joins only adjacent or overlapping items. */
  maxGap: number;
  /** Most registers/bits per request per table; never above `protocolLimits`. */
  maxLength: Record<ModbusTable, number>;
}

export const defaultPlanOptions: PlanOptions = { maxGap: 0, maxLength: protocolLimits };

export interface PlannedItem {
  /** Index of the item in the planner's input. */
  index: number;
  /** Where the item starts within the request's response. */
  offset: number;
  length: number;
}

export interface ReadRequest {
  table: ModbusTable;
  address: number;
  length: number;
  items: PlannedItem[];
}

/**
 * Groups items by table and coalesces them in address order into requests no longer than the
 * table's limit. Requests come out per table in `modbusTables` order, then by address.
 */
export function planReads(
  items: readonly PlanItem[],
  options: PlanOptions = defaultPlanOptions,
): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of modbusTables) {
    const limit = Math.min(options.maxLength[table], protocolLimits[table]);
    const sorted = items
      .map((item, index) => ({ ...item, index }))
      .filter((item) => item.table === table)
      .sort((a, b) => a.address - b.address || b.length - a.length);
    let current: ReadRequest | undefined;
    for (const item of sorted) {
      if (item.length > limit) {
        throw new RangeError(
          `item ${item.index} spans ${item.length} ${table} addresses, more than ${limit}`,
        );
      }
      const end = item.address + item.length;
      const fits =
        current !== undefined &&
        item.address <= current.address + current.length + options.maxGap &&
        Math.max(end, current.address + current.length) - current.address <= limit;
      if (current === undefined || !fits) {
        current = { table, address: item.address, length: item.length, items: [] };
        requests.push(current);
      }
      current.length = Math.max(end, current.address + current.length) - current.address;
      current.items.push({ index: item.index, offset: item.address - current.address, length: item.length });
    }
  }
  return requests;
}
