/**
 * Owns what the gRPC server does with request bytes that are not a message
 * of the rpc's request type. grpc-js answers a decoding failure itself, with
 * INTERNAL and no message, before any handler runs: to the caller that reads
 * as a fault of the server. Here each method's decoder is wrapped so that a
 * failure becomes a marked request, and the handler path (after
 * authentication, like every other check) answers INVALID_ARGUMENT naming
 * the type.
 */
import type { PackageDefinition } from '@grpc/proto-loader';
import { invalidArgument } from '@opamp/desired-state';

/** The key a request that could not be decoded carries (no field of the API's messages is named so). */
const UNDECODABLE = '__opampUndecodableRequest';

interface MethodDefinitionLike {
  requestDeserialize?: (bytes: Buffer) => unknown;
  requestType?: { type?: { name?: string } };
}

/** The same definition, every method's request decoder turned from throwing into marking. */
export function tolerantPackageDefinition(definition: PackageDefinition): PackageDefinition {
  for (const service of Object.values(definition)) {
    // Services are maps of method definitions; messages and enums (with `format`) are left alone.
    if (!service || typeof service !== 'object' || 'format' in service) continue;
    for (const method of Object.values(service as Record<string, MethodDefinitionLike>)) {
      const decode = method?.requestDeserialize;
      if (typeof decode !== 'function') continue;
      const typeName = method.requestType?.type?.name ?? 'request';
      method.requestDeserialize = (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch {
          return { [UNDECODABLE]: typeName };
        }
      };
    }
  }
  return definition;
}

/** Throws INVALID_ARGUMENT for a request its decoder could not read. */
export function rejectUndecodable(req: Record<string, unknown>): void {
  const typeName = req[UNDECODABLE];
  if (typeof typeName === 'string') throw invalidArgument(`the request body is not a valid fleet.v1.${typeName} message (protobuf decoding failed)`);
}
