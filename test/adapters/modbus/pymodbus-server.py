"""A Modbus TCP device from an independent implementation (pymodbus 3.0, Debian python3-pymodbus).

Usage: /usr/bin/python3 pymodbus-server.py PORT

Unit 1 holds one value of every type the adapter supports, encoded by pymodbus's own
BinaryPayloadBuilder (big-endian bytes and words, i.e. ABCD). When listening it prints one line:
  READY {"points": [{"name", "table", "address", "type", "value"}, ...]}
with the values as Python wrote them. It exits when stdin closes or on SIGTERM.
"""
import asyncio
import json
import os
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartAsyncTcpServer

# (name, table, address, type, value); addresses are 0-based protocol addresses.
REGISTER_POINTS = [
    ("energy-total", "holding", 0, "uint32", 3141592653),
    ("power", "holding", 2, "float32", 87.1),
    ("voltage", "holding", 4, "uint16", 40000),
    ("offset-temp", "holding", 5, "int16", -1234),
    ("balance", "holding", 6, "int32", -2000000000),
    ("flag", "holding", 8, "bool", 1),
    ("flow", "input", 10, "float32", -0.5),
    ("volume-total", "input", 20, "uint32", 123456),
    ("level", "input", 22, "int16", 32767),
]
BIT_POINTS = [
    ("valve-open", "coil", 3, "bool", True),
    ("pump-on", "coil", 4, "bool", False),
    ("door-closed", "discrete", 9, "bool", True),
]

ADD = {
    "uint16": BinaryPayloadBuilder.add_16bit_uint,
    "int16": BinaryPayloadBuilder.add_16bit_int,
    "uint32": BinaryPayloadBuilder.add_32bit_uint,
    "int32": BinaryPayloadBuilder.add_32bit_int,
    "float32": BinaryPayloadBuilder.add_32bit_float,
    "bool": BinaryPayloadBuilder.add_16bit_uint,
}


def build_context():
    tables = {"holding": [0] * 100, "input": [0] * 100, "coil": [False] * 100, "discrete": [False] * 100}
    for _name, table, address, kind, value in REGISTER_POINTS:
        builder = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=Endian.Big)
        ADD[kind](builder, value)
        registers = builder.to_registers()
        tables[table][address : address + len(registers)] = registers
    for _name, table, address, _kind, value in BIT_POINTS:
        tables[table][address] = value
    # zero_mode=True: block index i is protocol address i (the default shifts everything by one).
    unit = ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, tables["holding"]),
        ir=ModbusSequentialDataBlock(0, tables["input"]),
        co=ModbusSequentialDataBlock(0, tables["coil"]),
        di=ModbusSequentialDataBlock(0, tables["discrete"]),
        zero_mode=True,
    )
    return ModbusServerContext(slaves={1: unit}, single=False)


async def main(port):
    server = await StartAsyncTcpServer(context=build_context(), address=("127.0.0.1", port), defer_start=True)
    serving = asyncio.create_task(server.serve_forever())
    await server.serving
    points = [
        {"name": n, "table": t, "address": a, "type": k, "value": (bool(v) if k == "bool" else v)}
        for n, t, a, k, v in REGISTER_POINTS + BIT_POINTS
    ]
    print("READY " + json.dumps({"points": points}), flush=True)
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
    asyncio.run(main(int(sys.argv[1])))
