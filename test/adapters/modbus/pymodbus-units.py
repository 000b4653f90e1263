"""Many unit ids behind one Modbus TCP port, as an RS-485 gateway presents them (pymodbus 3.0).

Usage: /usr/bin/python3 pymodbus-units.py PORT UNITS DEAD
  UNITS: how many unit ids to serve, 1..UNITS; DEAD: comma-separated unit ids that never answer.
Each answering unit holds its unit id in holding register 0. A dead unit is left out of the server
context and pymodbus runs with ignore_missing_slaves, so a request to it gets no response at all (a
timeout, as from a unit that is off behind the gateway), not an exception. Prints READY when serving;
exits when stdin closes.
"""
import asyncio
import logging
import os
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server.async_io import ModbusTcpServer
from pymodbus.transaction import ModbusSocketFramer


def unit(unit_id):
    return ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [unit_id] + [0] * 9), zero_mode=True)


async def main(port, units, dead):
    # pymodbus logs every request to a missing unit at error level: nothing a test wants to read.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    slaves = {unit_id: unit(unit_id) for unit_id in range(1, units + 1) if unit_id not in dead}
    context = ModbusServerContext(slaves=slaves, single=False)
    server = ModbusTcpServer(context, ModbusSocketFramer, None, ("127.0.0.1", port), ignore_missing_slaves=True)
    serving = asyncio.create_task(server.serve_forever())
    await server.serving
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def on_stdin():
        if not os.read(sys.stdin.fileno(), 4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await stdin_closed
    await server.shutdown()
    serving.cancel()


if __name__ == "__main__":
    dead_units = {int(unit_id) for unit_id in sys.argv[3].split(",") if unit_id}
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), dead_units))
