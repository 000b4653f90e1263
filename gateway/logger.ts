/** The one pino root logger of a process. Logs go to stderr so stdout stays for data (`jjj-gateway test`). */
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/**
 * Sends whatever libraries print with console.log/info/warn (node-opcua does) to stderr, so stdout
 * carries only what the command itself prints.
 */
export function keepStdoutForData(): void {
  console.log = console.error;
  console.info = console.error;
  console.warn = console.error;
}
