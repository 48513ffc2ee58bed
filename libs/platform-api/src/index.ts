/** The platform API (gRPC FleetService and its REST/JSON mirror with OpenAPI) as a Nest module around FleetApiService. */
export * from './platform-api.tokens';
export * from './platform-api.app';
export * from './console-static';
export * from './proto-json';
export * from './rest-routes';
export * from './openapi';
export * from './api-errors';
export { FleetRestController } from './fleet-rest.controller';
export { FleetGrpcController } from './fleet-grpc.controller';
export * from './watch-stream';
export { RPC_HANDLERS, STREAM_RPCS } from './rpc-table';
