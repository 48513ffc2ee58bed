import { gunzipSync } from 'node:zlib';
import { seededRng } from './fuzz-draw';
import { FuzzTally } from './fuzz-tally';
import { mutateHttpRequest } from './http-request.mutator';
import { mutateRestRequest, REST_BODY_MUTATIONS } from './rest-request.mutator';

const UID = Buffer.alloc(16, 9);
const ROUTES = [
  { method: 'GET', path: '/agents/{instanceUid}' },
  { method: 'POST', path: '/configurations' },
  { method: 'PUT', path: '/configurations/{name}' },
];

describe('mutateHttpRequest', () => {
  it('draws every envelope, and a gzip bomb inflates far beyond its wire size', () => {
    const rng = seededRng(11);
    const reqs = Array.from({ length: 300 }, () => mutateHttpRequest(rng, UID, 1));
    const envelopes = new Set(reqs.map((r) => r.kind.split('/')[0]));
    expect([...envelopes].sort()).toEqual(['content-type', 'empty', 'gzip-bomb', 'gzip-garbage', 'none']);
    const bomb = reqs.find((r) => r.kind.startsWith('gzip-bomb'))!;
    expect(bomb.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(bomb.body).length).toBeGreaterThan(100 * bomb.body.length);
  });
});

describe('mutateRestRequest', () => {
  it('fills every placeholder, sends bodies only with POST/PUT, and draws every body mutation', () => {
    const rng = seededRng(12);
    const reqs = Array.from({ length: 400 }, () => mutateRestRequest(rng, ROUTES, 'tok'));
    for (const r of reqs) {
      expect(r.path).not.toMatch(/[{}]/);
      if (r.method === 'GET') expect(r.body).toBeUndefined();
    }
    const mutations = new Set(reqs.filter((r) => r.method !== 'GET').map((r) => r.kind.split('/').slice(-1)[0].replace(/-auth$/, '')));
    for (const m of REST_BODY_MUTATIONS) expect(reqs.some((r) => r.kind.includes(`/${m}`))).toBe(true);
    expect(mutations.size).toBeGreaterThan(1);
    expect(reqs.filter((r) => r.headers['authorization'] === 'Bearer tok').length).toBeGreaterThan(300);
    expect(reqs.some((r) => r.headers['authorization'] === undefined)).toBe(true);
  });

  it('replays from the seed', () => {
    const a = seededRng(13);
    const b = seededRng(13);
    for (let i = 0; i < 20; i++) expect(mutateRestRequest(a, ROUTES, 't')).toEqual(mutateRestRequest(b, ROUTES, 't'));
  });
});

describe('FuzzTally', () => {
  it('counts outcomes per kind and in total', () => {
    const t = new FuzzTally();
    t.count('ws/garbage', 'close 1002');
    t.count('ws/garbage', 'close 1002');
    t.count('rest/POST', 'http 400', 3);
    expect(t.total).toBe(5);
    expect(t.toJSON()).toEqual({ 'rest/POST': { 'http 400': 3 }, 'ws/garbage': { 'close 1002': 2 } });
    expect(t.byOutcome()).toEqual({ 'close 1002': 2, 'http 400': 3 });
  });
});
