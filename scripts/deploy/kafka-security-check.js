#!/usr/bin/env node
// The chart's Kafka security values as the apps receive them, on `helm template`
// output (scripts/test-deploy.sh):
//
//   node scripts/deploy/kafka-security-check.js FILE --ca-secret NAME --password-secret NAME --password-key KEY
//
// Every container that talks to Kafka (gateway, status-ingest, config-service)
// gets OPAMP_KAFKA_TLS=true, its CA file and the SASL settings, with the CA
// and the password mounted from those Secrets at the paths the env names; the
// password is never an env var; the migrations Job gets none of it. When the
// password Secret is the release's own, it holds the key.
// Prints one line per problem and exits 1 if there is any.
const fs = require('fs');
const path = require('path');
const { parseDocuments } = require('./chart-check');

const KAFKA_ROLES = ['gateway', 'status-ingest', 'config-service'];
const CA_FILE = '/etc/opamp/kafka-ca/ca.crt';
const PASSWORD_FILE = '/etc/opamp/kafka-sasl/password';

function kafkaSecurityProblems(docs, expected) {
  const problems = [];
  const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job');
  const seen = new Set();
  for (const doc of workloads) {
    const pod = doc.spec?.template?.spec ?? {};
    for (const c of pod.containers ?? []) {
      const role = (c.args ?? [])[0];
      const where = `${doc.kind}/${doc.metadata?.name} ${c.name}`;
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
      if (!KAFKA_ROLES.includes(role)) {
        if (Object.keys(env).some((n) => n.startsWith('OPAMP_KAFKA_'))) problems.push(`${where}: role ${role} does not talk to Kafka but gets Kafka settings`);
        continue;
      }
      seen.add(role);
      const want = {
        OPAMP_KAFKA_TLS: 'true',
        OPAMP_KAFKA_TLS_CA_FILE: CA_FILE,
        OPAMP_KAFKA_SASL_MECHANISM: expected.mechanism,
        OPAMP_KAFKA_SASL_USERNAME: expected.username,
        OPAMP_KAFKA_SASL_PASSWORD_FILE: PASSWORD_FILE,
      };
      for (const [name, value] of Object.entries(want)) {
        if (env[name]?.value !== value) problems.push(`${where}: ${name} is ${JSON.stringify(env[name]?.value)}, expected ${JSON.stringify(value)}`);
      }
      if (env.OPAMP_KAFKA_SASL_PASSWORD) problems.push(`${where}: the SASL password is an env var`);
      const mountOf = (file) => (c.volumeMounts ?? []).find((m) => path.dirname(file) === m.mountPath);
      const volumeOf = (mount) => (pod.volumes ?? []).find((v) => v.name === mount?.name)?.secret;
      const ca = volumeOf(mountOf(CA_FILE));
      if (ca?.secretName !== expected.caSecret) problems.push(`${where}: ${CA_FILE} is not mounted from Secret ${expected.caSecret}`);
      const pw = volumeOf(mountOf(PASSWORD_FILE));
      if (pw?.secretName !== expected.passwordSecret) problems.push(`${where}: ${PASSWORD_FILE} is not mounted from Secret ${expected.passwordSecret}`);
      else if (!(pw.items ?? []).some((i) => i.key === expected.passwordKey && i.path === 'password')) {
        problems.push(`${where}: Secret ${expected.passwordSecret} key ${expected.passwordKey} is not mounted as password`);
      }
    }
  }
  for (const role of KAFKA_ROLES) if (!seen.has(role)) problems.push(`no ${role} container rendered`);
  const own = docs.find((d) => d.kind === 'Secret' && d.metadata?.name === expected.passwordSecret);
  if (own && !own.stringData?.[expected.passwordKey]) problems.push(`Secret ${expected.passwordSecret}: no ${expected.passwordKey}`);
  return problems;
}

function main(argv) {
  const opt = (name, fallback) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : fallback;
  };
  const file = argv[0];
  const expected = {
    caSecret: opt('--ca-secret'),
    passwordSecret: opt('--password-secret'),
    passwordKey: opt('--password-key'),
    mechanism: opt('--mechanism', 'scram-sha-512'),
    username: opt('--username', 'opamp'),
  };
  if (!file || file.startsWith('--') || !expected.caSecret || !expected.passwordSecret || !expected.passwordKey) {
    console.error('usage: kafka-security-check.js FILE --ca-secret NAME --password-secret NAME --password-key KEY [--mechanism M] [--username U]');
    return 64;
  }
  const problems = kafkaSecurityProblems(parseDocuments(fs.readFileSync(file, 'utf8')), expected);
  for (const p of problems) console.error(`kafka-security-check: ${path.basename(file)}: ${p}`);
  if (problems.length === 0) console.log(`kafka-security-check: ${path.basename(file)}: every Kafka client has TLS, its CA and SASL from Secrets`);
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

module.exports = { kafkaSecurityProblems };
