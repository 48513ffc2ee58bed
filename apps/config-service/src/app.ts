/**
 * Builds the config-service application: the Nest HTTP app (REST mirror on
 * httpPort) with the gRPC FleetService attached as a microservice (grpcPort).
 */
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { FLEET_PACKAGE, findFleetApiProto, LOADER_OPTIONS } from './api/proto-json';
import { ConfigServiceLifecycle, ConfigServiceModule } from './config-service.module';
import type { ConfigServiceConfig } from './config/config-service.config';

export async function createConfigServiceApp(config: ConfigServiceConfig, options: { logger?: false } = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ConfigServiceModule.register(config), {
    bodyParser: false,
    bufferLogs: false,
    ...(options.logger === false ? { logger: false } : {}),
  });
  app.useBodyParser('json', { limit: '2mb' });
  const { protoPath, includeDir } = findFleetApiProto();
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.GRPC,
    options: {
      package: FLEET_PACKAGE,
      protoPath,
      url: `${config.bindHost}:${config.grpcPort}`,
      loader: { ...LOADER_OPTIONS, includeDirs: [includeDir] },
    },
  });
  await app.startAllMicroservices();
  await app.listen(config.httpPort, config.bindHost);
  return app;
}

/** Resolves once the reconciler consumer joined its group (tests wait for it before producing). */
export function reconcilerJoined(app: NestExpressApplication): Promise<void> {
  return app.get(ConfigServiceLifecycle).joined();
}
