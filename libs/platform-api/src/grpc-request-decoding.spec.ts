import * as protoLoader from '@grpc/proto-loader';
import { DesiredStateError } from '@opamp/desired-state';
import { rejectUndecodable, tolerantPackageDefinition } from './grpc-request-decoding';
import { findFleetApiProto, LOADER_OPTIONS } from './proto-json';

describe('tolerantPackageDefinition', () => {
  const { protoPath, includeDir } = findFleetApiProto();
  const def = tolerantPackageDefinition(protoLoader.loadSync(protoPath, { ...LOADER_OPTIONS, includeDirs: [includeDir] }));
  const listAgents = (def['fleet.v1.FleetService'] as protoLoader.ServiceDefinition)['ListAgents'];

  it('decodes a valid request as before, and marks one that cannot be decoded instead of throwing', () => {
    const ok = listAgents.requestDeserialize(Buffer.from([0x0a, 0x03, 0x61, 0x3d, 0x62])) as Record<string, unknown>;
    expect(ok['selector']).toBe('a=b');
    expect(() => rejectUndecodable(ok)).not.toThrow();
    const bad = listAgents.requestDeserialize(Buffer.from([0x7f, 0x00])) as Record<string, unknown>;
    let thrown: unknown = null;
    try {
      rejectUndecodable(bad);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DesiredStateError);
    expect(thrown).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'the request body is not a valid fleet.v1.ListAgentsRequest message (protobuf decoding failed)' });
  });

  it('wraps every method of the service and leaves message types alone', () => {
    const service = def['fleet.v1.FleetService'] as protoLoader.ServiceDefinition;
    for (const method of Object.values(service)) expect(() => method.requestDeserialize(Buffer.from([0x7f]))).not.toThrow();
    expect(def['fleet.v1.Agent']).toHaveProperty('format');
  });
});
