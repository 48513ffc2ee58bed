/** Structured logs of a long-running process: one JSON object per line, for log collectors. */
export type LogLevel = 'info' | 'warn' | 'error';

export type JsonLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** The line for one log event: level, ISO time and message first, then the event's own fields. */
export function formatLogLine(level: LogLevel, message: string, fields?: Record<string, unknown>, time: Date = new Date()): string {
  return JSON.stringify({ level, time: time.toISOString(), msg: message, ...fields });
}

/** Logs to the console: errors to stderr, everything else to stdout. */
export const jsonLog: JsonLog = (level, message, fields) => {
  const line = formatLogLine(level, message, fields);
  if (level === 'error') console.error(line);
  else console.log(line);
};
