/**
 * Builds the config-service application: the platform API (REST mirror on
 * httpPort, gRPC FleetService on grpcPort) around the module that owns Kafka,
 * Redis, PostgreSQL and the reconciler.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createPlatformApiApp } from '@opamp/platform-api';
import { ConfigServiceLifecycle, ConfigServiceModule } from './config-service.module';
import type { ConfigServiceConfig } from './config/config-service.config';

export async function createConfigServiceApp(config: ConfigServiceConfig, options: { logger?: false } = {}): Promise<NestExpressApplication> {
  return createPlatformApiApp(ConfigServiceModule.register(config), {
    bindHost: config.bindHost,
    httpPort: config.httpPort,
    grpcPort: config.grpcPort,
    ...options,
  });
}

/** Resolves once the reconciler consumer joined its group (tests wait for it before producing). */
export function reconcilerJoined(app: NestExpressApplication): Promise<void> {
  return app.get(ConfigServiceLifecycle).joined();
}
