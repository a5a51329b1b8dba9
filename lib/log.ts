import { pino } from 'pino';

/**
 * One structured logger for all Node-side components. JSON lines on stderr so stdout stays free for
 * command output (e.g. `understory replay` prints JSON Lines on stdout).
 * Level from UNDERSTORY_LOG_LEVEL (default info).
 */
export const rootLogger = pino(
  {
    level: process.env.UNDERSTORY_LOG_LEVEL ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  pino.destination(2),
);

export type Logger = pino.Logger;

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}
