/** Entry point of the status-ingest worker. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { StatusIngestModule } from './status-ingest.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(StatusIngestModule, { bufferLogs: false });
  app.enableShutdownHooks();
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
