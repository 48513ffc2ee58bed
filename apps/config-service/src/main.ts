/** Entry point of the config-service worker. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigServiceModule } from './config-service.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(ConfigServiceModule, { bufferLogs: false });
  app.enableShutdownHooks();
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
