/** A gateway config (as its YAML file holds it) with one Modbus register, for the broker-auth tests. */
export function brokerAuthGatewayConfig(
  gateway: { id: string; region: string; site: string },
  mqtt: object,
  modbusPort: number,
) {
  return {
    gateway: {
      ...gateway,
      project: 'jjj-dp-01',
      siteName: { zh: '站', en: 'Site' },
      stateDir: `state-${gateway.id}`,
    },
    mqtt,
    publish: { intervalMs: 100 },
    outbox: { type: 'memory' },
    devices: [
      {
        protocol: 'modbus',
        id: 'plc',
        line: 'line-1',
        host: '127.0.0.1',
        port: modbusPort,
        pollIntervalMs: 100,
        points: [{ name: 'speed', table: 'holding', address: 0, type: 'uint16' }],
      },
    ],
  };
}
