import { opamp } from '@opamp/protocol';
import { aliasedUrl, ConnectionSettingsFollower, settingsWithOffer, type OpampSettings } from './connection-settings';

const S = opamp.proto.v1.ConnectionSettingsStatuses;
const start: OpampSettings = { url: new URL('ws://127.0.0.1:4320/v1/opamp'), headers: { Authorization: 'Bearer enroll' }, heartbeatMs: 30_000 };
const offer = (secret: string, extra: Partial<opamp.proto.v1.IOpAMPConnectionSettings> = {}): opamp.proto.v1.IOpAMPConnectionSettings => ({
  destinationEndpoint: 'ws://127.0.0.1:4330/v1/opamp',
  headers: { headers: [{ key: 'Authorization', value: `Bearer ${secret}` }] },
  heartbeatIntervalSeconds: 5,
  ...extra,
});
const hash = (n: number) => Buffer.alloc(32, n);

describe('settingsWithOffer', () => {
  it('takes endpoint, headers and heartbeat from the offer, in the agent transport scheme', () => {
    const c = settingsWithOffer(start, offer('s1', { destinationEndpoint: 'https://gw.example/v1/opamp' }), hash(1), 'ws');
    expect(c).toMatchObject({ headers: { Authorization: 'Bearer s1' }, heartbeatMs: 5000 });
    expect((c as OpampSettings).url.href).toBe('wss://gw.example/v1/opamp');
  });

  it('keeps what the offer leaves empty', () => {
    const c = settingsWithOffer(start, { heartbeatIntervalSeconds: 0 }, hash(1), 'ws') as OpampSettings;
    expect(c.url.href).toBe(start.url.href);
    expect(c.headers).toEqual(start.headers);
    expect(c.heartbeatMs).toBe(30_000);
  });

  it('maps an offered load-balanced name onto one of its aliases, the same one for the same uid', () => {
    const aliases = { 'opamp.lb.test': ['127.0.0.1:4001', '127.0.0.1:4002'] };
    const url = new URL('ws://opamp.lb.test/v1/opamp');
    const picked = [0, 1, 2, 3].map((n) => aliasedUrl(url, aliases, Buffer.from([...Buffer.alloc(12), 0, 0, 0, n])).href);
    expect(picked).toEqual(['ws://127.0.0.1:4001/v1/opamp', 'ws://127.0.0.1:4002/v1/opamp', 'ws://127.0.0.1:4001/v1/opamp', 'ws://127.0.0.1:4002/v1/opamp']);
    expect(aliasedUrl(new URL('ws://other.test/v1/opamp'), aliases, Buffer.alloc(16)).href).toBe('ws://other.test/v1/opamp');
  });

  it('refuses an endpoint that is not a ws or http URL', () => {
    expect(settingsWithOffer(start, { destinationEndpoint: 'ftp://x/y' }, hash(1), 'ws')).toEqual({ error: expect.stringMatching(/destination_endpoint/) });
  });
});

describe('ConnectionSettingsFollower', () => {
  it('switch: APPLYING until the trial, APPLIED on the trial connection, in force after it', () => {
    const f = new ConnectionSettingsFollower(start);
    expect(f.offer(offer('s1'), hash(1), 'ws').kind).toBe('switch');
    expect(f.status).toMatchObject({ status: S.ConnectionSettingsStatuses_APPLYING, hash: hash(1) });
    expect(f.inUse).toBe(start);
    f.beginTrial();
    expect(f.inUse.headers).toEqual({ Authorization: 'Bearer s1' });
    expect(f.status).toMatchObject({ status: S.ConnectionSettingsStatuses_APPLIED });
    f.trialSucceeded();
    expect(f.current.headers).toEqual({ Authorization: 'Bearer s1' });
    expect(f.trying).toBe(false);
  });

  it('skips an offer whose hash it applied, and one arriving while another is tried', () => {
    const f = new ConnectionSettingsFollower(start);
    f.offer(offer('s1'), hash(1), 'ws');
    f.beginTrial();
    expect(f.offer(offer('s1'), hash(1), 'ws').kind).toBe('applied_before');
    expect(f.offer(offer('s2'), hash(2), 'ws').kind).toBe('busy');
    f.trialSucceeded();
    expect(f.offer(offer('s1'), hash(1), 'ws').kind).toBe('applied_before');
    expect(f.offer(offer('s2'), hash(2), 'ws').kind).toBe('switch');
  });

  it('a refused trial rolls back to the settings in force and reports FAILED; the same hash is not tried again', () => {
    const f = new ConnectionSettingsFollower(start);
    f.offer(offer('s1'), hash(1), 'ws');
    f.beginTrial();
    f.trialFailed('WebSocket upgrade refused with HTTP 401');
    expect(f.inUse).toBe(start);
    expect(f.status).toEqual({ hash: hash(1), status: S.ConnectionSettingsStatuses_FAILED, errorMessage: 'WebSocket upgrade refused with HTTP 401' });
    expect(f.offer(offer('s1'), hash(1), 'ws').kind).toBe('failed_before');
  });

  it('an offer changing only the heartbeat applies in place', () => {
    const f = new ConnectionSettingsFollower(start);
    const d = f.offer({ heartbeatIntervalSeconds: 7 }, hash(3), 'ws');
    expect(d).toMatchObject({ kind: 'in_place', settings: { heartbeatMs: 7000 } });
    expect(f.status?.status).toBe(S.ConnectionSettingsStatuses_APPLIED);
    expect(f.switching).toBe(false);
  });
});
