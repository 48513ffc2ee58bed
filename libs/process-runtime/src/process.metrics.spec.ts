import { Registry } from 'prom-client';
import { registerProcessMetrics } from './process.metrics';

/** A gauge's value in the exposition text. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} not exposed`);
  return Number(line.split(' ').pop());
}

/** Holds the event loop, as a long synchronous stretch of work would. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* busy */
  }
}

/** Resolves after the loop has run its timers a few times (the delay histogram samples on a timer). */
const loopTurns = (n: number) => new Promise<void>((resolve) => setTimeout(resolve, n * 15));

describe('process metrics', () => {
  it('shows a blocked event loop in the delay gauges of the window, in seconds, and starts a new window at each scrape', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    await loopTurns(3);
    await registry.metrics(); // ends the window of the start-up
    // The histogram's first tick after a scrape's reset only sets its reference time (a stall before it is not seen).
    await loopTurns(2);
    blockLoop(120);
    await loopTurns(3);
    const blocked = await registry.metrics();
    expect(sample(blocked, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.1);
    expect(sample(blocked, 'nodejs_eventloop_lag_max_seconds')).toBeLessThan(10);
    expect(blocked).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(blocked).toMatch(/^nodejs_eventloop_lag_p50_seconds /m);
    await loopTurns(3);
    // The stall belongs to the window before: the next one does not carry it.
    expect(sample(await registry.metrics(), 'nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.1);
  });

  it('registers once per registry', () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    expect(() => registerProcessMetrics(registry)).toThrow();
  });
});
