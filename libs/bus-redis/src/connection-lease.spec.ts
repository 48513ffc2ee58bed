import { decodeLease, encodeLease } from './connection-lease.repository';

describe('lease encoding', () => {
  it('round-trips', () => {
    const lease = { gatewayId: 'gw-1', connectionId: 'c-9', epoch: 17 };
    expect(decodeLease(encodeLease(lease))).toEqual(lease);
  });

  it.each([null, '', 'a|b', 'a|b|c|d', 'a|b|x', 'a|b|1.5'])('refuses a malformed value %p', (v) => {
    expect(decodeLease(v)).toBeNull();
  });
});
