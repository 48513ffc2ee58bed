// The fault suite's OWN Kafka (KRaft), Redis and PostgreSQL: deploy/infra/infra.sh
// run with a separate data dir (OPAMP_INFRA_DIR) and ports from the suite's range
// (28300..28304 by default), so stopping and restarting them never touches the
// shared instances on 19092/63790/54320. Kafka's jars are hard-linked from the
// checkout's own .infra (or OPAMP_FAULTS_KAFKA_LIBS) when present, else fetched.
const { execFile } = require('child_process');
const fs = require('fs');
const path = require('path');

const repo = path.join(__dirname, '..', '..');
const INFRA_SH = path.join(repo, 'deploy', 'infra', 'infra.sh');
const SERVICES = ['postgres', 'redis', 'kafka'];

/** Ports of the suite's own instances from `basePort`: pg, redis, kafka, kafka controller, kafka sasl_ssl. */
function faultInfraPorts(basePort = 28300) {
  return { pg: basePort, redis: basePort + 1, kafka: basePort + 2, kafkaController: basePort + 3, kafkaSaslSsl: basePort + 4 };
}

function run(args, env) {
  return new Promise((resolve, reject) => {
    execFile('bash', [INFRA_SH, ...args], { cwd: repo, env, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`infra.sh ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

function linkKafkaLibs(dir) {
  const target = path.join(dir, 'kafka', 'libs');
  if (fs.existsSync(path.join(target, '.complete'))) return;
  const from = [process.env.OPAMP_FAULTS_KAFKA_LIBS, path.join(repo, '.infra', 'kafka', 'libs')].find(
    (d) => d && fs.existsSync(path.join(d, '.complete')),
  );
  if (!from) return; // infra.sh fetches them
  fs.mkdirSync(target, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    const dst = path.join(target, f);
    if (!fs.existsSync(dst)) fs.linkSync(path.join(from, f), dst);
  }
}

/**
 * The suite's instances under `dir` (default <repo>/.infra/faults). `env` holds the
 * connection settings for the apps; `stop(svc)` / `start(svc)` act on one service
 * and resolve when it is down / answering again.
 */
function faultInfra({ dir = path.join(repo, '.infra', 'faults'), basePort = 28300 } = {}) {
  const p = faultInfraPorts(basePort);
  const shEnv = {
    ...process.env,
    OPAMP_INFRA_DIR: dir,
    OPAMP_PG_PORT: String(p.pg),
    OPAMP_REDIS_PORT: String(p.redis),
    OPAMP_KAFKA_PORT: String(p.kafka),
    OPAMP_KAFKA_CONTROLLER_PORT: String(p.kafkaController),
    OPAMP_KAFKA_SASL_SSL_PORT: String(p.kafkaSaslSsl),
  };
  const check = (svc) => {
    if (!SERVICES.includes(svc)) throw new Error(`unknown service ${svc} (${SERVICES.join(', ')})`);
  };
  return {
    dir,
    ports: p,
    // With the ports, an infra.sh run by a bench on this env (swarm-stack's infraUp) acts on these instances.
    env: {
      OPAMP_INFRA_DIR: dir,
      OPAMP_PG_PORT: String(p.pg),
      OPAMP_REDIS_PORT: String(p.redis),
      OPAMP_KAFKA_PORT: String(p.kafka),
      OPAMP_KAFKA_CONTROLLER_PORT: String(p.kafkaController),
      OPAMP_KAFKA_SASL_SSL_PORT: String(p.kafkaSaslSsl),
      OPAMP_DATABASE_URL: `postgres://opamp:opamp@127.0.0.1:${p.pg}/opamp`,
      OPAMP_REDIS_URL: `redis://127.0.0.1:${p.redis}`,
      OPAMP_KAFKA_BROKERS: `127.0.0.1:${p.kafka}`,
    },
    async up() {
      fs.mkdirSync(dir, { recursive: true });
      linkKafkaLibs(dir);
      return run(['up'], shEnv);
    },
    down: () => run(['down'], shEnv),
    status: () => run(['status'], shEnv).then(() => true, () => false),
    start: (svc) => (check(svc), run(['start', svc], shEnv)),
    stop: (svc) => (check(svc), run(['stop', svc], shEnv)),
    /** Stop `svc`, keep it down `downMs`, start it; resolves with the ms from start until it answers. */
    async restart(svc, downMs) {
      await this.stop(svc);
      await new Promise((r) => setTimeout(r, downMs));
      const t0 = Date.now();
      await this.start(svc);
      return Date.now() - t0;
    },
  };
}

module.exports = { faultInfra, faultInfraPorts, SERVICES };
