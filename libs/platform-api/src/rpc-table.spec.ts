import { isMutation, RPC_HANDLERS } from './rpc-table';

describe('isMutation (every mutation is traced)', () => {
  it.each(['CreateConfiguration', 'UpdateAssignment', 'DeleteAgent', 'RestartAgent', 'RotateAgentCredentials', 'RevokeAgents', 'UpdateTenantSettings'])('%s is a mutation', (rpc) => {
    expect(isMutation(rpc)).toBe(true);
  });

  it.each(['GetAgent', 'ListAgents', 'ValidateConfiguration', 'RenderConfiguration', 'WatchAgents', 'GetCertificateRevocationList'])('%s is a read', (rpc) => {
    expect(isMutation(rpc)).toBe(false);
  });

  it('classifies every rpc of the table', () => {
    const mutations = Object.keys(RPC_HANDLERS).filter(isMutation);
    expect(mutations.length).toBeGreaterThan(10);
    expect(mutations.filter((r) => /^(Get|List)/.test(r))).toEqual([]);
  });
});
