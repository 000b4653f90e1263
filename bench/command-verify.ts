/**
 * `npm run bench:command-verify`: the cost per command of the command guard, over 10,000 signed
 * commands: the Ed25519 verification alone, the whole guard admitting each command (target,
 * freshness, rate, replay look-up, verification, and the fsynced insert into the replay cache in a
 * temporary state folder), and a cheap refusal (an expired command: no verification).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandGuard } from '../gateway/command-guard.js';
import { ReplayCache } from '../gateway/command-replay-cache.js';
import { parseGatewayConfig } from '../gateway/config.js';
import { signCommand, verifyCommandSignature } from '../gateway/schema/command-signature.js';
import type { CommandMessage, CommandTarget } from '../gateway/schema/commands.js';

const COMMANDS = Number(process.env.COMMANDS ?? 10_000);
const keys = generateKeyPairSync('ed25519');
const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const self: CommandTarget = { region: 'BJ', site: 'bj-etown-cnc', gateway: 'gw-bj-etown-cnc' };
const now = Date.now();

const commands: CommandMessage[] = Array.from({ length: COMMANDS }, (_, i) =>
  signCommand(
    {
      schema: 'jjj.command/2',
      id: `bench-${i}`,
      target: self,
      ts: now,
      expiresTs: now + 30_000,
      by: 'operator@plant',
      writes: [{ line: 'machining', equipment: 'cnc-01', point: 'feed-override', value: i % 120 }],
    },
    'cloud-1',
    keys.privateKey,
  ),
);

function perCommandMicros(run: (command: CommandMessage) => boolean, batch = commands): number {
  const start = process.hrtime.bigint();
  for (const command of batch) if (!run(command)) throw new Error(`refused: ${command.id}`);
  return Number(process.hrtime.bigint() - start) / 1000 / batch.length;
}

const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-guard-'));
try {
  const config = parseGatewayConfig(
    {
      gateway: {
        id: self.gateway,
        region: 'BJ',
        project: 'p',
        site: self.site,
        siteName: { zh: '基准', en: 'bench' },
      },
      commands: { trustedKeys: [{ id: 'cloud-1', publicKey }], ratePerMinute: 6000 },
      devices: [
        {
          protocol: 'modbus',
          id: 'plc',
          line: 'l',
          host: '127.0.0.1',
          points: [{ name: 'feed-override', table: 'holding', address: 0, type: 'uint16' }],
        },
      ],
    },
    'bench',
    dir,
  );
  const replay = new ReplayCache(dir);
  // The rate limit would stop the run at 6,000 a minute: a fresh guard per 5,000 commands.
  const guards = () => new CommandGuard({ config, self, replay });
  const verify = perCommandMicros((c) => verifyCommandSignature(c, config.commandKeys).ok);
  let guard = guards();
  const whole = perCommandMicros((c) => {
    if (Number(c.id.slice(6)) % 5000 === 0) guard = guards();
    return guard.admitJson(c).ok;
  });
  const expired = commands.map((c) => ({ ...c, id: `x${c.id}`, ts: 0, expiresTs: 1 }));
  const refusal = perCommandMicros((c) => !guard.admitJson(c).ok, expired);
  replay.close();
  console.log(`commands: ${COMMANDS}`);
  console.log(`Ed25519 verification: ${verify.toFixed(1)} µs/command`);
  console.log(`whole guard, admitted (replay cache fsynced): ${whole.toFixed(1)} µs/command`);
  console.log(`whole guard, refused before verification (expired): ${refusal.toFixed(1)} µs/command`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
