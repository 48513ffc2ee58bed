/** Entry point of a gateway process: starts it, drains it on SIGTERM/SIGINT. */
import { jsonLog as log, stopGracefullyOnSignals } from '@opamp/process-runtime';
import { loadGatewayConfig } from './config/gateway.config';
import { startGateway } from './gateway';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const gateway = await startGateway(config, log);
  stopGracefullyOnSignals(() => gateway.shutdown(), log, {
    message: 'draining',
    fields: { windowMs: config.drainWindowMs },
    failureMessage: 'shutdown failed',
  });
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
