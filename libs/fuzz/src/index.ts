/**
 * Public API of @opamp/fuzz: the pure parts of the fuzz soak (bench/fuzz-soak.bench.js):
 * seeded draws and hostile values, mutators of AgentToServer messages, OpAMP
 * HTTP requests, REST calls and gRPC calls, and the outcome tally.
 */
export { drawBytes, drawInt, drawOne, hostileText, HOSTILE_TEXT_KINDS, seededRng, seedFromText } from './fuzz-draw';
export type { HostileTextKind, Rng } from './fuzz-draw';
export { decodeMutant, FRAME_MUTATIONS, encodeNestedAnyValue, mutateAgentMessage, STRUCTURAL_MUTATIONS } from './agent-frame.mutator';
export type { FrameMutation, MutatedMessage } from './agent-frame.mutator';
export { HTTP_ENVELOPE_MUTATIONS, mutateHttpRequest } from './http-request.mutator';
export type { HttpEnvelopeMutation, MutatedHttpRequest } from './http-request.mutator';
export { mutateRestRequest, REST_BODY_MUTATIONS } from './rest-request.mutator';
export type { MutatedRestRequest, RestBodyMutation, RouteTemplate } from './rest-request.mutator';
export { FuzzTally } from './fuzz-tally';
export type { TallyTable } from './fuzz-tally';
export { GRPC_BODY_MUTATIONS, hostileMessage, mutateGrpcCall } from './grpc-request.mutator';
export type { GrpcBodyMutation, GrpcMethodTemplate, MutatedGrpcCall } from './grpc-request.mutator';
