/**
 * Serves the platform API: the REST/JSON mirror (and OpenAPI document) on an
 * HTTP port and the gRPC FleetService on its own port, around one
 * FleetApiService. config-service wraps it with its Kafka, Redis and
 * PostgreSQL; the embedded server with its in-process twins.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import * as protoLoader from '@grpc/proto-loader';
import { MAX_REST_BODY_BYTES, type FleetApiService } from '@opamp/desired-state';
import { jsonLog, type JsonLog } from '@opamp/process-runtime';
import { FleetGrpcController } from './fleet-grpc.controller';
import { FleetRestController } from './fleet-rest.controller';
import { findConsoleDir, serveConsole } from './console-static';
import { FLEET_PACKAGE, findFleetApiProto, LOADER_OPTIONS, ProtoJson } from './proto-json';
import { tolerantPackageDefinition } from './grpc-request-decoding';
import { API_LOG, FLEET_API, METRICS_REGISTRY, PROTO_JSON } from './platform-api.tokens';
import { refuseDeepJson, restErrors } from './rest-body';
import { PACKAGE_UPLOAD_PATH, packageUpload } from './package-upload';
import { RestErrorsFilter } from './rest-errors.filter';
import { MetricsController } from './metrics.controller';
import type { Registry } from 'prom-client';

export interface PlatformApiListen {
  bindHost: string;
  httpPort: number;
  grpcPort: number;
  logger?: false;
  /** The built web console served at `/`: found next to the build when undefined (see findConsoleDir), none when false. */
  consoleDir?: string | false;
}

@Module({})
export class PlatformApiModule {
  /** The controllers, the JSON mapper and whatever else the host module provides (FLEET_API among them). */
  static register(providers: Provider[], imports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: PlatformApiModule,
      imports,
      controllers: [FleetRestController, FleetGrpcController, MetricsController],
      providers: [{ provide: PROTO_JSON, useFactory: () => new ProtoJson() }, { provide: API_LOG, useValue: jsonLog }, ...providers],
    };
  }

  /** For a host that built its FleetApiService itself (the embedded server). */
  static forApi(api: FleetApiService, metrics?: Registry, log?: JsonLog): DynamicModule {
    return PlatformApiModule.register([
      { provide: FLEET_API, useValue: api },
      ...(metrics ? [{ provide: METRICS_REGISTRY, useValue: metrics }] : []),
      ...(log ? [{ provide: API_LOG, useValue: log }] : []),
    ]);
  }
}

export async function createPlatformApiApp(module: DynamicModule, listen: PlatformApiListen): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module, {
    bodyParser: false,
    bufferLogs: false,
    ...(listen.logger === false ? { logger: false } : {}),
  });
  // Errors of the parser (right after it, before Nest wraps them), express and Nest itself in the API's envelope, not Nest's.
  const errors = restErrors(app.get<FleetApiService>(FLEET_API), app.get<JsonLog>(API_LOG));
  // Before the JSON parser: a package file streams into the store as it arrives.
  app.use(PACKAGE_UPLOAD_PATH, packageUpload(app.get<FleetApiService>(FLEET_API), app.get<ProtoJson>(PROTO_JSON), app.get<JsonLog>(API_LOG)));
  app.useBodyParser('json', { limit: MAX_REST_BODY_BYTES, verify: refuseDeepJson });
  app.use(errors);
  app.useGlobalFilters(new RestErrorsFilter(errors));
  const consoleDir = listen.consoleDir === undefined ? findConsoleDir() : listen.consoleDir;
  if (consoleDir) serveConsole(app, consoleDir);
  const { protoPath, includeDir } = findFleetApiProto();
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.GRPC,
    options: {
      package: FLEET_PACKAGE,
      // Loaded here rather than by Nest, so that undecodable requests get INVALID_ARGUMENT, not grpc-js' INTERNAL.
      packageDefinition: tolerantPackageDefinition(protoLoader.loadSync(protoPath, { ...LOADER_OPTIONS, includeDirs: [includeDir] })),
      url: `${listen.bindHost}:${listen.grpcPort}`,
    },
  });
  await app.startAllMicroservices();
  await app.listen(listen.httpPort, listen.bindHost);
  return app;
}
