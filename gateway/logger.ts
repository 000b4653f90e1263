/** The one pino root logger of a process. Logs go to stderr so stdout stays for data (`jjj-gateway test`). */
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
