/**
 * SIGTERM / SIGINT end a server process gracefully: the first signal starts
 * its stop (drain, close) and the process exits when the stop is done; later
 * signals do not start a second one.
 */
import type { JsonLog } from './json-log';

export interface GracefulStopOptions {
  /** Logged (info) when the first signal arrives, with `signal` and `fields`. */
  readonly message: string;
  readonly fields?: Record<string, unknown>;
  /** Logged (error, with `error`) when the stop fails; the process then exits with 1. */
  readonly failureMessage: string;
}

/** The part of `process` used here, so tests can pass their own. */
export interface SignalTarget {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
}

export function stopGracefullyOnSignals(
  stop: () => Promise<void>,
  log: JsonLog,
  options: GracefulStopOptions,
  target: SignalTarget = process,
): void {
  let stopping = false;
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => {
    if (stopping) return;
    stopping = true;
    log('info', options.message, { signal, ...options.fields });
    stop().then(
      () => target.exit(0),
      (err: unknown) => {
        log('error', options.failureMessage, { error: String(err) });
        target.exit(1);
      },
    );
  };
  target.on('SIGTERM', () => onSignal('SIGTERM'));
  target.on('SIGINT', () => onSignal('SIGINT'));
}
