"""A Modbus device from an independent implementation (pymodbus 3.0, Debian python3-pymodbus).

Usage: /usr/bin/python3 pymodbus-server.py tcp PORT
       /usr/bin/python3 pymodbus-server.py rtu-over-tcp PORT   (RTU frames over a TCP socket)
       /usr/bin/python3 pymodbus-server.py rtu SERIAL-PATH     (RTU at 19200 8N1, e.g. one end of a pty pair)

Units 1 and 2 hold one value of every type the adapter supports in every byte/word order, encoded
by pymodbus's own BinaryPayloadBuilder (byteorder = bytes inside a word, wordorder = word order).
When serving it prints one line:
  READY {"points": [{"name", "table", "address", "type", "byteOrder", ..., "value"}, ...]}
with the values as Python wrote them (64-bit integers as decimal strings). Unit 2 holds the same
values except holding register 299, which holds the unit id, so a mix-up of unit ids shows. Exits when stdin closes.
"""
import asyncio
import json
import os
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

ORDERS = {
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}
VALUES = [
    ("int16", BinaryPayloadBuilder.add_16bit_int, -12345),
    ("uint16", BinaryPayloadBuilder.add_16bit_uint, 54321),
    ("int32", BinaryPayloadBuilder.add_32bit_int, -2000000001),
    ("uint32", BinaryPayloadBuilder.add_32bit_uint, 3141592653),
    ("int64", BinaryPayloadBuilder.add_64bit_int, -9007199254740993),
    ("uint64", BinaryPayloadBuilder.add_64bit_uint, 18446744073709551610),
    ("float32", BinaryPayloadBuilder.add_32bit_float, 87.125),
    ("float64", BinaryPayloadBuilder.add_64bit_float, -1234.56789012345),
]


def build_points():
    """(point, registers or bit) for every type in every order, plus strings, bits and bit tables."""
    holding = []
    address = 0
    for order, (byteorder, wordorder) in ORDERS.items():
        for kind, add, value in VALUES:
            builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
            add(builder, value)
            registers = builder.to_registers()
            shown = str(value) if kind.endswith("64") and "int" in kind else value
            point = {"name": f"{kind}-{order.lower()}", "table": "holding", "address": address,
                     "type": kind, "byteOrder": order, "value": shown}
            holding.append((point, registers))
            address += len(registers)
    text = "Zhuozhou-07"
    builder = BinaryPayloadBuilder()
    builder.add_string(text.ljust(12, "\0"))
    registers = builder.to_registers()
    holding.append(({"name": "serial-number", "table": "holding", "address": address, "type": "string",
                     "length": 6, "value": text}, registers))
    address += 6
    swapped = [((word & 0xFF) << 8) | (word >> 8) for word in registers]
    holding.append(({"name": "serial-number-badc", "table": "holding", "address": address, "type": "string",
                     "length": 6, "byteOrder": "BADC", "value": text}, swapped))
    address += 6
    status_word = 0b1000_0000_0000_0101
    for bit in (0, 1, 2, 15):
        holding.append(({"name": f"status-bit-{bit}", "table": "holding", "address": address, "type": "bool",
                         "bit": bit, "value": bool(status_word >> bit & 1)}, [status_word]))
    inputs = []
    builder = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=Endian.Little)
    builder.add_32bit_float(-0.5)
    inputs.append(({"name": "flow", "table": "input", "address": 10, "type": "float32", "byteOrder": "CDAB",
                    "value": -0.5}, builder.to_registers()))
    bits = [
        {"name": "valve-open", "table": "coil", "address": 3, "type": "bool", "value": True},
        {"name": "pump-on", "table": "coil", "address": 4, "type": "bool", "value": False},
        {"name": "door-closed", "table": "discrete", "address": 9, "type": "bool", "value": True},
    ]
    return holding, inputs, bits


def unit_context(holding, inputs, bits, bump):
    tables = {"holding": [0] * 300, "input": [0] * 100, "coil": [False] * 100, "discrete": [False] * 100}
    for point, registers in holding + inputs:
        tables[point["table"]][point["address"]: point["address"] + len(registers)] = registers
    for point in bits:
        tables[point["table"]][point["address"]] = point["value"]
    tables["holding"][299] = bump
    # zero_mode=True: block index i is protocol address i (the default shifts everything by one).
    return ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, tables["holding"]),
        ir=ModbusSequentialDataBlock(0, tables["input"]),
        co=ModbusSequentialDataBlock(0, tables["coil"]),
        di=ModbusSequentialDataBlock(0, tables["discrete"]),
        zero_mode=True,
    )


async def main(mode, where):
    holding, inputs, bits = build_points()
    context = ModbusServerContext(
        slaves={1: unit_context(holding, inputs, bits, 1), 2: unit_context(holding, inputs, bits, 2)},
        single=False,
    )
    if mode == "rtu":
        server = ModbusSerialServer(context, ModbusRtuFramer, port=where, baudrate=19200, bytesize=8,
                                    parity="N", stopbits=1)
        await server.start()
        serving = None
    else:
        framer = ModbusRtuFramer if mode == "rtu-over-tcp" else ModbusSocketFramer
        server = ModbusTcpServer(context, framer, None, ("127.0.0.1", int(where)))
        serving = asyncio.create_task(server.serve_forever())
        await server.serving
    points = [point for point, _ in holding + inputs] + bits
    print("READY " + json.dumps({"points": points}), flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def on_stdin():
        if not os.read(sys.stdin.fileno(), 4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await stdin_closed
    await server.shutdown()
    if serving:
        serving.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
