/**
 * deploy/mtls/terminator-sync.js: the mutual-TLS terminator's CA bundle and
 * CRL file written from the trusted CAs (the file source), atomically, with a
 * reload only on a change; refusals that leave the terminator's files alone
 * (also an API source it cannot read: --from-api, whose success is proven
 * against the built server in client-certificates.e2e-spec.ts);
 * and, with the real HAProxy of the shipped configuration, a sync plus its
 * reload making the terminator refuse a newly revoked certificate.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestCa,
  createTestCrl,
  freePort,
  HaproxyTerminator,
  issueClientCertificate,
  issueServerCertificate,
  type TestCa,
  type TestCertificate,
} from '@opamp/testing';

const script = join(__dirname, '..', '..', '..', '..', 'deploy', 'mtls', 'terminator-sync.js');

function sync(from: string, to: string, reload?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, '--from', from, '--to', to, ...(reload ? ['--reload', reload] : [])], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A TLS request through the terminator with a client certificate: the HTTP status, or the TLS error. */
function handshake(port: number, serverCa: TestCa, cert: TestCertificate): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/opamp', method: 'POST', ca: serverCa.pem, cert: cert.pem, key: cert.keyPem }, (res) => {
      res.resume();
      res.on('end', () => resolve(`HTTP ${res.statusCode}`));
    });
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

describe('terminator-sync.js', () => {
  let dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'terminator-sync-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('writes every trusted CA and every CRL, and reloads only when they changed', async () => {
    const [active, retiring] = await Promise.all([createTestCa('tenant-a CA 2'), createTestCa('tenant-a CA 1')]);
    const from = dir();
    const to = dir();
    const reloads = join(to, 'reloads');
    writeFileSync(join(from, 'tenant-a-2.crt'), active.pem);
    writeFileSync(join(from, 'tenant-a-2.crl'), await createTestCrl(active));
    writeFileSync(join(from, 'tenant-a-1.crt'), retiring.pem);
    writeFileSync(join(from, 'tenant-a-1.crl'), await createTestCrl(retiring, ['0abc']));
    const first = sync(from, to, `echo reload >> ${reloads}`);
    expect(first.out).toContain('changed, reloaded');
    expect(first.status).toBe(0);
    const bundle = readFileSync(join(to, 'ca-bundle.pem'), 'utf8');
    expect(bundle).toContain(active.pem.trim());
    expect(bundle).toContain(retiring.pem.trim());
    expect(readFileSync(join(to, 'crl.pem'), 'utf8').match(/BEGIN X509 CRL/g)).toHaveLength(2);
    const again = sync(from, to, `echo reload >> ${reloads}`);
    expect(again.out).toContain('unchanged');
    expect(readFileSync(reloads, 'utf8')).toBe('reload\n');
    // A retired CA leaves with its files.
    rmSync(join(from, 'tenant-a-1.crt'));
    rmSync(join(from, 'tenant-a-1.crl'));
    expect(sync(from, to, `echo reload >> ${reloads}`).status).toBe(0);
    expect(readFileSync(join(to, 'ca-bundle.pem'), 'utf8')).not.toContain(retiring.pem.trim());
    expect(readFileSync(reloads, 'utf8')).toBe('reload\nreload\n');
  });

  it('refuses a CA without a CRL, a certificate that is no CA, and no CA at all, leaving the files as they were', async () => {
    const ca = await createTestCa('tenant-b CA');
    const leaf = await issueClientCertificate(ca, { tenantId: 'b', uidHex: 'ab'.repeat(16) });
    const to = dir();
    writeFileSync(join(to, 'ca-bundle.pem'), 'old bundle\n');
    const noCrl = dir();
    writeFileSync(join(noCrl, 'b.crt'), ca.pem);
    const notCa = dir();
    writeFileSync(join(notCa, 'leaf.crt'), leaf.pem);
    writeFileSync(join(notCa, 'leaf.crl'), await createTestCrl(ca));
    const cases: Array<[string, RegExp]> = [
      [noCrl, /b: no CRL/],
      [notCa, /leaf: not a CA certificate/],
      [dir(), /no trusted CA/],
    ];
    for (const [from, message] of cases) {
      const r = sync(from, to, `touch ${join(to, 'reloaded')}`);
      expect(r.out).toMatch(message);
      expect(r.status).toBe(1);
    }
    expect(readFileSync(join(to, 'ca-bundle.pem'), 'utf8')).toBe('old bundle\n');
    expect(existsSync(join(to, 'crl.pem'))).toBe(false);
    expect(existsSync(join(to, 'reloaded'))).toBe(false);
    expect(sync(noCrl, to).status).toBe(1);
    expect(spawnSync(process.execPath, [script, '--from', noCrl], { encoding: 'utf8' }).status).toBe(2);
  });

  it('--from-api: an API it cannot read is a refusal (files kept, no reload); it needs its token file and one source only', async () => {
    const to = dir();
    writeFileSync(join(to, 'ca-bundle.pem'), 'old bundle\n');
    const tokens = join(dir(), 'tokens');
    writeFileSync(tokens, '# a comment\nsome-admin-token\n', { mode: 0o600 });
    // Nothing listens there: the server is down.
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = spawnSync(process.execPath, [script, '--from-api', down, '--token-file', tokens, '--to', to, '--reload', `touch ${join(to, 'reloaded')}`], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/terminator-sync: .*fetch failed|ECONNREFUSED/);
    expect(r.status).toBe(1);
    expect(readFileSync(join(to, 'ca-bundle.pem'), 'utf8')).toBe('old bundle\n');
    expect(existsSync(join(to, 'reloaded'))).toBe(false);
    for (const args of [['--from-api', down, '--to', to], ['--from-api', down, '--from', to, '--token-file', tokens, '--to', to], ['--token-file', tokens, '--from', to, '--to', to]]) {
      expect(spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' }).status).toBe(2);
    }
  });

  it('makes the real HAProxy refuse a newly revoked certificate at the handshake, through its reload', async () => {
    const [ca, serverCa] = await Promise.all([createTestCa('tenant-c CA'), createTestCa('terminator CA')]);
    const [server, agent] = await Promise.all([issueServerCertificate(serverCa), issueClientCertificate(ca, { tenantId: 'c', uidHex: 'cd'.repeat(16) })]);
    // No gateway behind it: a certificate that passes the handshake gets HAProxy's 503.
    const t = await HaproxyTerminator.start(`127.0.0.1:${await freePort()}`, { serverPem: server.pem + server.keyPem, caBundlePem: ca.pem, crlPem: await createTestCrl(ca) });
    try {
      expect(await handshake(t.port, serverCa, agent)).toBe('HTTP 503');
      const from = dir();
      writeFileSync(join(from, 'tenant-c.crt'), ca.pem);
      writeFileSync(join(from, 'tenant-c.crl'), await createTestCrl(ca, [agent.serialNumber]));
      const loads = t.loads();
      const r = sync(from, t.filesDir, `kill -USR2 ${t.pid}`);
      expect(r.status).toBe(0);
      await t.loaded(loads + 1);
      expect(await handshake(t.port, serverCa, agent)).toMatch(/certificate revoked/);
    } finally {
      await t.stop();
    }
  });
});
