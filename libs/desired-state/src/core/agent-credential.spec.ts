import { AgentCapabilities, opamp } from '@opamp/protocol';
import { connectionOffer, decideCredentialOffer, deriveAgentSecret, offerHash, offerRetryAt, secretHash, type CredentialOfferState } from './agent-credential';
import { endpointFor } from './connection-profile';

/** The offer without a profile (the server's endpoint and interval). */
const opampOffer = (i: { endpoint: string; secret: string; heartbeatIntervalSeconds: number }, caps: number) =>
  connectionOffer({ publicEndpoint: i.endpoint, transport: 'ws', secret: i.secret, heartbeatIntervalSeconds: i.heartbeatIntervalSeconds }, null, caps)!;

const ACCEPTS = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings;
const S = opamp.proto.v1.ConnectionSettingsStatuses;

describe('agent credentials (pure)', () => {
  const key = Buffer.alloc(32, 1);

  it('derives a secret per tenant and credential from the key, the same every time, never the key itself', () => {
    const a = deriveAgentSecret(key, 't', 'c1');
    expect(deriveAgentSecret(key, 't', 'c1')).toBe(a);
    expect(deriveAgentSecret(key, 't', 'c2')).not.toBe(a);
    expect(deriveAgentSecret(key, 'u', 'c1')).not.toBe(a);
    expect(deriveAgentSecret(Buffer.alloc(32, 2), 't', 'c1')).not.toBe(a);
    expect(a).toMatch(/^opamp_agent_[A-Za-z0-9_-]{43}$/);
    expect(secretHash(a)).toHaveLength(32);
  });

  it('hashes the whole offer content: identical offers alike, one header or the interval changes it (C59, C60)', () => {
    const base = { endpoint: 'wss://x/v1/opamp', secret: 's1', heartbeatIntervalSeconds: 30 };
    const caps = ACCEPTS | AgentCapabilities.ReportsHeartbeat;
    const h = Buffer.from(opampOffer(base, caps).hash as Uint8Array);
    expect(Buffer.from(opampOffer(base, caps).hash as Uint8Array)).toEqual(h);
    expect(Buffer.from(opampOffer({ ...base, secret: 's2' }, caps).hash as Uint8Array)).not.toEqual(h);
    expect(Buffer.from(opampOffer({ ...base, heartbeatIntervalSeconds: 10 }, caps).hash as Uint8Array)).not.toEqual(h);
    expect(Buffer.from(opampOffer({ ...base, endpoint: 'wss://y/v1/opamp' }, caps).hash as Uint8Array)).not.toEqual(h);
    const offer = opampOffer(base, caps);
    expect(offerHash(offer)).toEqual(h);
  });

  it('puts the credential in an Authorization header and a non-zero heartbeat only for ReportsHeartbeat agents (C62)', () => {
    const withHb = opampOffer({ endpoint: 'wss://x/v1/opamp', secret: 's', heartbeatIntervalSeconds: 30 }, ACCEPTS | AgentCapabilities.ReportsHeartbeat);
    expect(withHb.opamp?.heartbeatIntervalSeconds).toBe(30);
    expect(withHb.opamp?.headers?.headers).toEqual([{ key: 'Authorization', value: 'Bearer s' }]);
    expect(withHb.opamp?.destinationEndpoint).toBe('wss://x/v1/opamp');
    const noHb = opampOffer({ endpoint: 'wss://x/v1/opamp', secret: 's', heartbeatIntervalSeconds: 30 }, ACCEPTS);
    expect(noHb.opamp?.heartbeatIntervalSeconds).toBeUndefined();
  });

  it('gives WebSocket agents the ws(s) form of the endpoint and HTTP agents the http(s) form', () => {
    expect(endpointFor('https://opamp.example.com/v1/opamp', 'ws')).toBe('wss://opamp.example.com/v1/opamp');
    expect(endpointFor('https://opamp.example.com/v1/opamp', 'http')).toBe('https://opamp.example.com/v1/opamp');
    expect(endpointFor('http://127.0.0.1:4320/v1/opamp', 'ws')).toBe('ws://127.0.0.1:4320/v1/opamp');
    expect(endpointFor('wss://h/v1/opamp', 'http')).toBe('https://h/v1/opamp');
  });

  describe('decideCredentialOffer', () => {
    const hash = Buffer.alloc(32, 9);
    const base: CredentialOfferState = {
      capabilities: ACCEPTS,
      connectedWith: 'enrollment-1',
      desiredCredentialId: 'c1',
      desiredHash: hash,
      reportedHash: null,
      reportedStatus: 0,
      offeredHash: null,
      offeredConnection: null,
      offeredAtMs: null,
    };
    const decide = (s: Partial<CredentialOfferState>, connection = 'ws:gw/1', now = 100_000) => decideCredentialOffer({ ...base, ...s }, connection, now).reason;

    it('offers to an agent that accepts settings and is not on the credential yet', () => expect(decide({})).toBe('offer'));
    it('never offers without AcceptsOpAMPConnectionSettings (C45)', () => expect(decide({ capabilities: AgentCapabilities.ReportsStatus })).toBe('not_accepted'));
    it('does not offer again to an agent connected with it that was offered the current hash', () => expect(decide({ connectedWith: 'c1', offeredHash: hash })).toBe('in_use'));
    it('offers to an agent on its credential when the content changed (a profile): by the last hash offered, or by the hash a 0x8000 agent reports', () => {
      expect(decide({ connectedWith: 'c1', offeredHash: Buffer.alloc(32, 1) })).toBe('offer');
      expect(decide({ connectedWith: 'c1', offeredHash: null })).toBe('offer');
      const reporting = ACCEPTS | AgentCapabilities.ReportsConnectionSettingsStatus;
      expect(decide({ capabilities: reporting, connectedWith: 'c1', offeredHash: hash, reportedHash: Buffer.alloc(32, 1), reportedStatus: S.ConnectionSettingsStatuses_APPLIED })).toBe('offer');
      expect(decide({ capabilities: reporting, connectedWith: 'c1', offeredHash: Buffer.alloc(32, 1), reportedHash: hash, reportedStatus: S.ConnectionSettingsStatuses_APPLYING })).toBe('in_use');
      // Not yet reported: the last hash offered says.
      expect(decide({ capabilities: reporting, connectedWith: 'c1', offeredHash: hash })).toBe('in_use');
    });
    it('offers other connections alone to an agent that accepts only those (0x200)', () =>
      expect(decide({ capabilities: AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOtherConnectionSettings })).toBe('offer'));
    it('does not repeat an offer to the same connection while the agent switches, but does after the wait, elsewhere, or with other content', () => {
      expect(decide({ offeredHash: hash, offeredConnection: 'ws:gw/1', offeredAtMs: 99_000 })).toBe('awaiting_switch');
      expect(decide({ offeredHash: hash, offeredConnection: 'ws:gw/1', offeredAtMs: 1_000 })).toBe('offer');
      expect(decide({ offeredHash: hash, offeredConnection: 'ws:gw/0', offeredAtMs: 99_000 })).toBe('offer');
      expect(decide({ offeredHash: Buffer.alloc(32, 1), offeredConnection: 'ws:gw/1', offeredAtMs: 99_000 })).toBe('offer');
    });
    it('puts a plain-HTTP agent\'s offer in its pending store again at once (it may have dropped it while applying the last one)', () => {
      expect(decide({ offeredHash: hash, offeredConnection: 'http', offeredAtMs: 99_000 }, 'http')).toBe('offer');
    });
    it('retries an offer on offer the agent reported FAILED once its back-off passed, once per failure, not after the last retry, never for its active credential', () => {
      const failed = { capabilities: ACCEPTS | AgentCapabilities.ReportsConnectionSettingsStatus, reportedHash: hash, reportedStatus: S.ConnectionSettingsStatuses_FAILED, offeredHash: hash, desiredOnOffer: true };
      const policy = { baseMs: 1_000, maxRetries: 2 };
      const at = (s: Partial<CredentialOfferState>, now: number) => decideCredentialOffer({ ...base, ...failed, ...s }, 'ws:gw/1', now, 30_000, policy).reason;
      // First failure at 10 s after an offer at 5 s: waits 1 s.
      expect(at({ offeredAtMs: 5_000, offerFailures: 1, offerFailedAtMs: 10_000 }, 10_500)).toBe('failed_for_current_hash');
      expect(at({ offeredAtMs: 5_000, offerFailures: 1, offerFailedAtMs: 10_000 }, 11_000)).toBe('retry_after_failure');
      // Sent again since (its result not yet recorded): not repeated.
      expect(at({ offeredAtMs: 11_000, offerFailures: 1, offerFailedAtMs: 10_000 }, 20_000)).toBe('failed_for_current_hash');
      // Second failure: 2 s; a third is beyond the policy's retries.
      expect(at({ offeredAtMs: 11_000, offerFailures: 2, offerFailedAtMs: 12_000 }, 13_999)).toBe('failed_for_current_hash');
      expect(at({ offeredAtMs: 11_000, offerFailures: 2, offerFailedAtMs: 12_000 }, 14_000)).toBe('retry_after_failure');
      expect(at({ offeredAtMs: 14_000, offerFailures: 3, offerFailedAtMs: 15_000 }, 1e9)).toBe('failed_for_current_hash');
      // No failure recorded (an older server, a status of other content): waits as before.
      expect(at({ offeredAtMs: 5_000 }, 1e9)).toBe('failed_for_current_hash');
      // The agent's active credential (a profile's content failed): the operator decides.
      expect(at({ offeredAtMs: 5_000, offerFailures: 1, offerFailedAtMs: 10_000, desiredOnOffer: false }, 1e9)).toBe('failed_for_current_hash');
    });
    it('backs off offers that failed: doubling, at most the policy\'s retries', () => {
      const policy = { baseMs: 100, maxRetries: 3 };
      expect([0, 1, 2, 3, 4].map((n) => offerRetryAt(n, 1_000, policy))).toEqual([null, 1_100, 1_200, 1_400, null]);
    });
    it('respects what a 0x8000 agent reports for the current hash: FAILED waits, APPLIED is done', () => {
      const reporting = ACCEPTS | AgentCapabilities.ReportsConnectionSettingsStatus;
      expect(decide({ capabilities: reporting, reportedHash: hash, reportedStatus: S.ConnectionSettingsStatuses_FAILED })).toBe('failed_for_current_hash');
      expect(decide({ capabilities: reporting, reportedHash: hash, reportedStatus: S.ConnectionSettingsStatuses_APPLIED })).toBe('reported');
      expect(decide({ capabilities: reporting, reportedHash: Buffer.alloc(32, 1), reportedStatus: S.ConnectionSettingsStatuses_FAILED })).toBe('offer');
    });
  });
});
