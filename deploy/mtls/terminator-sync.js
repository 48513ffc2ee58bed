#!/usr/bin/env node
// Writes the two files a mutual-TLS terminator reads (deploy/mtls/haproxy-mtls.cfg:
// OPAMP_MTLS_CA_FILE and OPAMP_MTLS_CRL_FILE) from the certificate authorities the
// server trusts, and reloads the terminator when they changed:
//
//   node deploy/mtls/terminator-sync.js --from DIR --to DIR [--reload 'COMMAND']
//   node deploy/mtls/terminator-sync.js --from-api URL --token-file FILE --to DIR [--reload 'COMMAND']
//
//   --from-api URL  the server's platform API (e.g. http://config-service:4380): every
//                CA it trusts (ACTIVE and RETIRING in GET /api/v1/certificate-authorities)
//                with its current CRL (GET /api/v1/certificate-authorities/{id}/crl, signed
//                by the server and re-signed on every revocation), for each tenant whose
//                admin token is a line of --token-file (the file keeps tokens out of `ps`).
//                An API behind TLS with a private CA: NODE_EXTRA_CA_CERTS=ca.pem.
//   --from DIR   the trusted CAs as files (the file source below): for each CA,
//                <name>.crt (its certificate, PEM) and <name>.crl (its current CRL,
//                PEM); every .crt there is trusted (active and retiring CAs), so a
//                retired CA is removed by removing its two files.
//   --to DIR     where ca-bundle.pem (every CA) and crl.pem (every CRL) are written,
//                each atomically (a temporary file renamed over the old one).
//   --reload     run by /bin/sh after a change, e.g. HAProxy in master-worker mode:
//                'kill -USR2 $(cat /run/haproxy.pid)'. Not run when nothing changed.
//
// Refuses (exit 1, the old files left as they were) a CA without a CRL (OpenSSL would
// refuse every client of that CA), a file that is not the PEM it should be, a
// certificate that is not a CA, and an empty set. Exit 0: in sync (printed: changed
// or unchanged). Run it from cron or a loop beside the terminator, or after the
// server exports new files.
//
// The source is an interface (trustedAuthorities(): [{ name, certificatePem, crlPem }]):
// the file source and the API source implement it. An API that cannot be read (down, a
// token refused) is a refusal too: the terminator keeps the files it has.
const fs = require('fs');
const path = require('path');
const { X509Certificate } = require('crypto');
const { execFileSync } = require('child_process');

const CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;
const CRL = /-----BEGIN X509 CRL-----[A-Za-z0-9+/=\s]+-----END X509 CRL-----/g;

/** The file source: <name>.crt and <name>.crl pairs in one directory. */
function fileSource(dir) {
  return {
    async trustedAuthorities() {
      const names = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.crt'))
        .map((f) => f.slice(0, -'.crt'.length))
        .sort();
      return names.map((name) => {
        const crlFile = path.join(dir, `${name}.crl`);
        return {
          name,
          certificatePem: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8'),
          crlPem: fs.existsSync(crlFile) ? fs.readFileSync(crlFile, 'utf8') : '',
        };
      });
    },
  };
}

/** Timeout of each API request (ms). */
const API_TIMEOUT_MS = 15_000;

async function apiGet(url, token, accept) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept }, signal: AbortSignal.timeout(API_TIMEOUT_MS) });
  const body = await res.text();
  if (!res.ok) {
    let message = body.slice(0, 200);
    try {
      message = JSON.parse(body).error.message;
    } catch {
      // Not the API's error envelope: its first bytes.
    }
    throw new Error(`GET ${url}: HTTP ${res.status}: ${message}`);
  }
  return body;
}

/** The API source: each tenant's trusted CAs (active, retiring) and their CRLs, for every admin token given. */
function apiSource(baseUrl, tokens) {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async trustedAuthorities() {
      const out = [];
      for (const token of tokens) {
        const listed = JSON.parse(await apiGet(`${base}/api/v1/certificate-authorities`, token, 'application/json'));
        for (const ca of listed.certificateAuthorities ?? []) {
          if (ca.state !== 'ACTIVE' && ca.state !== 'RETIRING') continue;
          const crlPem = await apiGet(`${base}/api/v1/certificate-authorities/${encodeURIComponent(ca.id)}/crl`, token, 'application/x-pem-file');
          out.push({ name: `ca-${ca.id}`, certificatePem: ca.certificatePem ?? '', crlPem });
        }
      }
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}

/** Admin tokens, one a line (blank lines and # comments skipped). */
function readTokens(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The two files' contents, or the problems that keep them from being written. */
function terminatorFiles(authorities, now = new Date()) {
  const problems = [];
  const bundle = [];
  const crls = [];
  if (authorities.length === 0) problems.push('no trusted CA: the terminator would refuse every agent');
  for (const a of authorities) {
    const certs = a.certificatePem.match(CERT) ?? [];
    const lists = a.crlPem.match(CRL) ?? [];
    if (certs.length !== 1) {
      problems.push(`${a.name}: expected one PEM certificate, found ${certs.length}`);
      continue;
    }
    let cert;
    try {
      cert = new X509Certificate(certs[0]);
    } catch (err) {
      problems.push(`${a.name}: not a certificate (${err.message})`);
      continue;
    }
    if (!cert.ca) problems.push(`${a.name}: not a CA certificate`);
    if (new Date(cert.validTo) <= now) problems.push(`${a.name}: expired on ${cert.validTo}`);
    if (lists.length === 0) problems.push(`${a.name}: no CRL (an empty one is needed where nothing is revoked)`);
    bundle.push(`# ${a.name}: ${cert.subject.replace(/\n/g, ', ')}\n${certs[0]}\n`);
    crls.push(...lists.map((l) => `${l}\n`));
  }
  return problems.length > 0 ? { problems } : { problems, caBundle: bundle.join(''), crl: crls.join('') };
}

function writeIfChanged(file, content) {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return true;
}

async function sync({ source, to, reload }) {
  const files = terminatorFiles(await source.trustedAuthorities());
  if (files.problems.length > 0) return { ok: false, problems: files.problems };
  // The CRLs first: a bundle with a new CA and no CRL for it yet would refuse its agents.
  const crlChanged = writeIfChanged(path.join(to, 'crl.pem'), files.crl);
  const bundleChanged = writeIfChanged(path.join(to, 'ca-bundle.pem'), files.caBundle);
  const changed = crlChanged || bundleChanged;
  if (changed && reload) execFileSync('/bin/sh', ['-c', reload], { stdio: 'inherit' });
  return { ok: true, changed };
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (!['--from', '--from-api', '--token-file', '--to', '--reload'].includes(key) || value === undefined) return null;
    args[key.slice(2)] = value;
  }
  // Exactly one source; the API one with its tokens.
  if (!args.to || !!args.from === !!args['from-api'] || !!args['from-api'] !== !!args['token-file']) return null;
  return args;
}

async function main(argv) {
  const args = parseArgs(argv);
  if (!args) {
    console.error("usage: terminator-sync.js (--from DIR | --from-api URL --token-file FILE) --to DIR [--reload 'COMMAND']");
    return 2;
  }
  let result;
  try {
    const source = args.from ? fileSource(args.from) : apiSource(args['from-api'], readTokens(args['token-file']));
    result = await sync({ source, to: args.to, reload: args.reload });
  } catch (err) {
    console.error(`terminator-sync: ${err.message}`);
    return 1;
  }
  if (!result.ok) {
    for (const p of result.problems) console.error(`terminator-sync: ${p}`);
    console.error('terminator-sync: nothing written, the terminator keeps its current files');
    return 1;
  }
  console.log(`terminator-sync: ${result.changed ? (args.reload ? 'changed, reloaded' : 'changed') : 'unchanged'}`);
  return 0;
}

module.exports = { fileSource, apiSource, terminatorFiles, sync };

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
