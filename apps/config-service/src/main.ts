/** Entry point of config-service: REST mirror on OPAMP_CONFIG_HTTP_PORT, gRPC on OPAMP_CONFIG_GRPC_PORT, reconciler on the agent-events topic. */
import 'reflect-metadata';
import { createConfigServiceApp } from './app';
import { loadConfigServiceConfig } from './config/config-service.config';

async function bootstrap(): Promise<void> {
  const app = await createConfigServiceApp(loadConfigServiceConfig());
  app.enableShutdownHooks();
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
