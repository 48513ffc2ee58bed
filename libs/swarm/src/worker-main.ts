/**
 * Entry point of a swarm worker process (forked by the orchestrator with an
 * IPC channel). Exits when told to stop, on SIGTERM, or when the parent goes away.
 */
import type { ParentMessage, WorkerMessage } from './worker-protocol';
import { SwarmWorker } from './worker';

let worker: SwarmWorker | undefined;
let stopping = false;

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const final = worker ? await worker.stop() : undefined;
  const sendToParent = process.send?.bind(process);
  if (final && sendToParent && process.connected) {
    await new Promise<void>((resolve) => sendToParent(final, undefined, {}, () => resolve()));
  }
  if (process.connected) process.disconnect();
  process.exit(0);
}

process.on('message', (message: ParentMessage) => {
  try {
    if (message.type === 'start' && !worker && !stopping) {
      worker = new SwarmWorker(message, send);
      worker.start();
    } else if (message.type === 'statusCounting') {
      worker?.setStatusCounting(message.on);
    } else if (message.type === 'statusQuery') {
      if (worker) send(worker.statusCounters());
    } else if (message.type === 'stop') {
      void stop();
    }
  } catch (err) {
    send({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
// Ctrl-C reaches the whole process group: the orchestrator decides when workers stop.
process.on('SIGINT', () => undefined);

const memory = process.memoryUsage();
send({ type: 'ready', pid: process.pid, rss: memory.rss, heapUsed: memory.heapUsed });
