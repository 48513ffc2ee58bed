/** Entry point of a gateway process: starts it, drains it on SIGTERM/SIGINT. */
import { loadGatewayConfig } from './config/gateway.config';
import { type GatewayLog, startGateway } from './gateway';

const log: GatewayLog = (level, message, fields) => {
  const line = JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
};

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const gateway = await startGateway(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'draining', { signal, windowMs: config.drainWindowMs });
    gateway.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log('error', 'shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
