/**
 * What every console browser test stands on: the built console, a real Mosquitto, a real collector
 * (SQLite file in a temporary directory, HTTP on a free port) with its users, an MQTT publisher for
 * the test's messages and a headless Chromium; `close()` stops them all, newest first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { PASSWORD_ENV } from '../../cloud/auth/account-cli.js';
import { runCli } from '../../cloud/cli.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { loadCollectorConfig } from '../../cloud/config.js';
import type { Role } from '../../cloud/store/account-table.js';
import { tempDir } from '../gateway/delivery-fixtures.js';
import { launchBrowser } from '../helpers/browser.js';
import { capturedIo } from '../helpers/captured-io.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { repoRoot } from '../helpers/spawn.js';

export interface ConsoleCollectorOptions {
  /** The accounts to create, name → role; each one's password is `passwordOf(role)`. */
  users?: Record<string, Role>;
  /** YAML lines added to the collector config after its broker, store and HTTP lines. */
  config?: string[];
  /** Runs in the temporary directory before the collector starts (e.g. a key the config names). */
  prepare?: (dir: string) => Promise<void>;
}

export interface Session {
  /** `jjj_session=…`, for the `cookie` header. */
  cookie: string;
  csrfToken: string;
}

export interface ConsoleCollector {
  /** The temporary directory of the config and the store (removed by `close()`). */
  dir: string;
  broker: Mosquitto;
  collector: RunningCollector;
  publisher: MqttClient;
  browser: Browser;
  /** The collector's HTTP address, where the console is served. */
  url: string;
  password(name: string): string;
  /** A session of the user's own over HTTP, for the test's API calls. */
  login(name: string): Promise<Session>;
  /** Signs the user in through the page's form at `path`, and waits until the console says who they are. */
  signIn(page: Page, name: string, path?: string): Promise<void>;
  close(): Promise<void>;
}

/** Long enough for the account rules; one per role is all a test needs. */
export const passwordOf = (role: Role) => `${role}-passw0rd-long`;

/** Console errors but the 401 the API answers by design (who am I before the sign-in, a wrong password). */
export const unexpectedErrors = (errors: string[]) =>
  errors.filter((error) => !/status of 401 \(Unauthorized\)/.test(error));

export async function startConsoleCollector(
  options: ConsoleCollectorOptions = {},
): Promise<ConsoleCollector> {
  // The collector serves the console from dist/console/; a fresh checkout has not built it yet.
  if (!existsSync(join(repoRoot, 'dist/console/index.html')))
    execFileSync('npm', ['run', '-s', 'build:console'], { cwd: repoRoot, stdio: 'inherit' });
  const users = options.users ?? {};
  const dir = tempDir('jjj-console-');
  const stops: Array<() => unknown> = [() => dir.remove()];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  // A failed start stops what did start, since the test's afterAll has nothing to close yet.
  try {
    const broker = await startMosquitto();
    stops.push(() => broker.stop());
    const configFile = join(dir.path, 'collector.yaml');
    writeFileSync(
      configFile,
      [
        `mqtt: { url: "${broker.url}" }`,
        'store: { path: collector.db }',
        'http: { port: 0 }',
        ...(options.config ?? []),
        '',
      ].join('\n'),
    );
    await options.prepare?.(dir.path);
    for (const [name, role] of Object.entries(users)) {
      const add = capturedIo({ env: { [PASSWORD_ENV]: passwordOf(role) } });
      expect(await runCli(['users', 'add', name, '--role', role, '--config', configFile], add.io)).toBe(0);
    }
    const collector = await startCollector(loadCollectorConfig(configFile), {
      logger: pino({ level: 'silent' }),
    });
    // Closing twice is safe: a test may stop the collector itself.
    stops.push(() => collector.close());
    const publisher = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    stops.push(() => publisher.endAsync(true));
    const browser = await launchBrowser();
    stops.push(() => browser.close());
    const url = collector.httpUrl;

    const password = (name: string) => {
      const role = users[name];
      if (!role) throw new Error(`no user ${name} in this test`);
      return passwordOf(role);
    };
    return {
      dir: dir.path,
      broker,
      collector,
      publisher,
      browser,
      url,
      password,
      async login(name) {
        const response = await fetch(`${url}/api/v1/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, password: password(name) }),
        });
        expect(response.status).toBe(200);
        const { csrfToken } = (await response.json()) as { csrfToken: string };
        return { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrfToken };
      },
      async signIn(page, name, path = '/') {
        await page.goto(`${url}${path}`);
        // The form's labels in either language: the page's locale picks it.
        await page.getByLabel(/User name|用户名/).fill(name);
        await page.getByLabel(/Password|密码/).fill(password(name));
        await page.keyboard.press('Enter');
        await page.locator(`[data-user="${name}"]`).waitFor();
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
