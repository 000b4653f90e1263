/**
 * The device side of `npm run bench:modbus`, run as its own process: N Modbus TCP servers
 * (modbus-serial ServerTCP) on loopback, each holding `registers` holding registers that change
 * every second. Prints `READY {"ports": [...]}`; answers `count` on stdin with `COUNT <requests>`
 * (requests served so far, exceptions included); exits when stdin closes.
 *
 * With `identity` (for `npm run bench:gateway`), register i of device d holds (d × REGISTERS + i)
 * mod 65,536 and never changes, so a subscriber can check every value from the point's identity.
 *
 * Usage: node dist/bench/modbus-simulators.js DEVICES REGISTERS [identity]
 */
import { type AddressInfo, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { ServerTCP } from 'modbus-serial';

const [devices = 200, registers = 100] = process.argv.slice(2, 4).map(Number);
const identity = process.argv[4] === 'identity';
let requests = 0;

/** The exception an address beyond the map gets, in the shape modbus-serial turns into one. */
const illegalDataAddress = { modbusErrorCode: 2, msg: 'IllegalDataAddress' };

/** A port the kernel had free a moment ago (ServerTCP takes port 0 for its default, 502). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startDevice(seed: number): Promise<number> {
  const port = await freePort();
  const words = Array.from({ length: registers }, (_, i) =>
    identity ? (seed * registers + i) & 0xffff : (seed * 31 + i * 7) & 0xffff,
  );
  const read = (address: number, length: number): number[] => {
    requests++;
    if (address + length > registers) throw illegalDataAddress;
    return words.slice(address, address + length);
  };
  const server = new ServerTCP(
    {
      getMultipleHoldingRegisters: (address: number, length: number) => read(address, length),
      // ServerTCP asks for single registers one by one.
      getHoldingRegister: (address: number) => read(address, 1)[0] ?? 0,
    },
    { host: '127.0.0.1', port },
  );
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', reject);
  });
  server.on('socketError', () => {});
  // Values move every second, as a meter's do; the process exits with its timers.
  if (!identity)
    setInterval(() => {
      for (let i = 0; i < words.length; i += 3) words[i] = ((words[i] ?? 0) + 1) & 0xffff;
    }, 1000);
  return port;
}

const ports: number[] = [];
for (let seed = 0; seed < devices; seed++) ports.push(await startDevice(seed));
console.log(`READY ${JSON.stringify({ ports })}`);
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line.trim() === 'count') console.log(`COUNT ${requests}`);
});
commands.on('close', () => process.exit(0));
