/**
 * The embedded server's event loop (issue 15 item 3): one loop serves the
 * agents, ingest, the reconciler and the API, so its delay is a metric of the
 * process. The built server runs as a child process; the test stops it
 * (SIGSTOP) for a while, which holds its loop exactly as a long synchronous
 * stretch of work would, and reads the stall from the scrape.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess } from '@opamp/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'fleet-event-loop-'));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (line === undefined) throw new Error(`${name} not exposed`);
  return Number(line.split(' ').pop());
}

describe('embedded server event loop', () => {
  let server: EmbeddedServerProcess;
  const scrape = async () => (await fetch(server.metrics)).text();

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir, basePort: 28510 });
  }, 90_000);

  afterAll(async () => {
    if (server) await stopEmbeddedServerProcess(server);
  });

  it('exposes the event-loop delay of the window since the last scrape, and stalls of 150 ms show in it', async () => {
    const pid = server.child.pid as number;
    await scrape(); // ends the window of the start-up
    // The delay histogram's first tick after a scrape only takes its reference time (10 ms resolution):
    // a stall before it is not seen. Two stalls, the second after the tick that ends the first.
    for (let i = 0; i < 2; i++) {
      await sleep(50);
      process.kill(pid, 'SIGSTOP');
      await sleep(150);
      process.kill(pid, 'SIGCONT');
    }
    const text = await scrape();
    expect(sample(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.1);
    expect(sample(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    // Once: the process's registries merge into one scrape without a second copy of Node's metrics.
    expect(text.split('\n').filter((l) => l.startsWith('# TYPE nodejs_eventloop_lag_max_seconds ')).length).toBe(1);
  });
});
