/**
 * Package downloads in the distributed mode (issue 17, item 2): two gateway
 * processes configured from the environment read uploaded package files
 * from the shared PostgreSQL (no shared disk), each checking signed
 * addresses with the package URL key; a download cut on one gateway is
 * resumed with Range on the other and yields the same bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { packageDownloadUrl } from '@opamp/contracts';
import { createPgPool, migrateToLatest, PgSqlDatabase, SqlPackageBlobStore } from '@opamp/store';
import { testInfra, uniqueName } from '@opamp/testing';
import type { Pool } from 'pg';
import { loadGatewayConfig } from '../src/config/gateway.config';
import { type RunningGateway, startGateway } from '../src/gateway';

const KEY = randomBytes(32);
const TENANT = 'acme';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('gateway package downloads (real PostgreSQL, Kafka, Redis)', () => {
  const schema = `t_${uniqueName('gwpkg').replace(/[^a-z0-9]/g, '_')}`;
  const gateways: RunningGateway[] = [];
  let admin: Pool;
  let pool: Pool;
  const file = randomBytes(2 * 1024 * 1024 + 5);

  beforeAll(async () => {
    const infra = testInfra();
    admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'gwpkg-admin', max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const databaseUrl = `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    pool = createPgPool({ connectionString: databaseUrl, applicationName: 'gwpkg', max: 2 });
    const client = await pool.connect();
    try {
      await migrateToLatest(client);
    } finally {
      client.release();
    }
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [TENANT]);
    // What config-service's upload stores.
    await new SqlPackageBlobStore(new PgSqlDatabase(pool)).put(TENANT, (async function* () { yield file; })(), file.length);
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await startGateway(
          loadGatewayConfig({
            OPAMP_GATEWAY_ID: uniqueName('gw'),
            OPAMP_GATEWAY_HOST: '127.0.0.1',
            OPAMP_GATEWAY_PORT: '0',
            OPAMP_GATEWAY_ADMIN_PORT: '0',
            OPAMP_AGENT_TOKENS: `${TENANT}=${uniqueName('agent-token')}`,
            OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
            OPAMP_REDIS_URL: infra.redisUrl,
            OPAMP_PACKAGE_DATABASE_URL: databaseUrl,
            OPAMP_PACKAGE_URL_KEY: KEY.toString('base64'),
          }),
          () => undefined,
        ),
      );
    }
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.shutdown(0);
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  it('serves the file from every gateway; a cut download resumes on another gateway with Range to the same bytes', async () => {
    const grant = { tenantId: TENANT, sha256Hex: sha(file), expiresAtS: Math.floor(Date.now() / 1000) + 300 };
    const [a, b] = gateways.map((g) => packageDownloadUrl(`http://127.0.0.1:${g.edge.port}`, KEY, grant));
    const res = await fetch(a);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    const part = Buffer.from(first.value!);
    expect(part.length).toBeGreaterThan(0);
    expect(part.length).toBeLessThan(file.length);
    const rest = await fetch(b, { headers: { range: `bytes=${part.length}-` } });
    expect(rest.status).toBe(206);
    expect(sha(Buffer.concat([part, Buffer.from(await rest.arrayBuffer())]))).toBe(sha(file));
    // Without the key's signature, nothing.
    expect((await fetch(b.replace(/sig=[^&]+/, 'sig=forged'))).status).toBe(401);
  });
});
