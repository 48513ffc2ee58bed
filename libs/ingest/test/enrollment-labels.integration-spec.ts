/**
 * The labels of the enrollment token an agent came in with become part of its
 * labels (the column selectors query), against real Kafka, Redis and
 * PostgreSQL: looked up when its credential changes, kept in
 * agents.enrollment_labels, winning over attribute-derived labels of the same
 * key, carried in its AgentEvent (which the reconciler selects on), and
 * followed when the agent moves to a credential of its own issued by another
 * token. A credential the database does not know (a static gateway token)
 * brings none and fails nothing.
 */
import { randomBytes } from 'node:crypto';
import { fleet } from '@opamp/contracts';
import { waitFor } from '@opamp/testing';
import { AgentChange, AgentRepository, type AgentState } from '../src';
import { description, FakeAgent } from '../src/testing/factories';
import { IngestHarness } from './ingest-harness';

const ENROLLMENT = fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT;
const AGENT = fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT;

describe('status-ingest: enrollment labels (real Kafka, Redis, PostgreSQL)', () => {
  const h = new IngestHarness();
  const repo = new AgentRepository();
  let w: ReturnType<IngestHarness['worker']>;

  beforeAll(async () => {
    await h.start(['gw-a']);
    await h.db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [h.tenant]);
    w = h.worker();
    await w.start();
  });

  afterAll(() => h.stop());

  async function token(labels: Record<string, string>): Promise<string> {
    const { rows } = await h.db.query(`INSERT INTO api_tokens (tenant_id, kind, name, token_hash, created_by, labels) VALUES ($1, 'agent', 'enroll', $2, 'test', $3::jsonb) RETURNING id`, [
      h.tenant,
      randomBytes(32),
      JSON.stringify(labels),
    ]);
    return String(rows[0]['id']);
  }

  const stored = async (agent: FakeAgent, accept: (s: AgentState) => boolean, what: string): Promise<AgentState> =>
    (await waitFor(() => repo.get(h.db, h.tenant, agent.uid), (s) => s !== null && accept(s), { timeoutMs: 20_000, description: what })) as AgentState;

  const eventsOf = (agent: FakeAgent) => h.events.filter((e) => Buffer.from(e.instanceUid).equals(agent.uid));
  const labelsOf = (e: fleet.v1.AgentEvent) => Object.fromEntries(e.labels.map((l) => [l.key, l.value]));

  it('gives an agent the labels of its enrollment token, over its attributes of the same key, in its row and its events', async () => {
    const tokenId = await token({ env: 'prod', 'team/name': 'obs core' });
    const agent = new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now() });
    agent.credentialId = tokenId;
    agent.credentialKind = ENROLLMENT;
    await h.produce([agent.toKafka(agent.connect()), agent.toKafka(agent.full({ agentDescription: description('otelcol', { env: 'dev' }) }))]);
    const s = await stored(agent, (st) => st.descriptionReported && st.labels['env'] === 'prod', 'the agent stored with its token\'s labels');
    expect(s.enrollmentLabels).toEqual({ env: 'prod', 'team/name': 'obs core' });
    expect(s.labels).toMatchObject({ env: 'prod', 'team/name': 'obs core', 'service.name': 'otelcol', 'os.type': 'linux' });
    const last = await waitFor(() => eventsOf(agent).at(-1), (e) => e !== undefined && labelsOf(e)['env'] === 'prod', { timeoutMs: 20_000, description: 'its event with the labels' });
    expect(labelsOf(last!)).toMatchObject({ env: 'prod', 'team/name': 'obs core' });

    // Heartbeats take the fast path (no lookup, no row write): the row keeps the labels.
    const beats = w.processor.totals.heartbeats;
    await h.produce([agent.toKafka(agent.heartbeat()), agent.toKafka(agent.heartbeat())]);
    await waitFor(() => w.processor.totals.heartbeats, (n) => n >= beats + 2, { timeoutMs: 20_000, description: 'the heartbeats on the fast path' });
    expect((await repo.get(h.db, h.tenant, agent.uid))!.labels).toMatchObject({ env: 'prod', 'team/name': 'obs core' });
  });

  it('follows the agent to a credential of its own: the labels of the token that issued it, and labels changed are a description change', async () => {
    const first = await token({ env: 'staging' });
    const second = await token({ env: 'prod', tier: 'gold' });
    const agent = new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now() });
    agent.credentialId = first;
    agent.credentialKind = ENROLLMENT;
    await h.produce([agent.toKafka(agent.connect()), agent.toKafka(agent.full())]);
    await stored(agent, (st) => st.labels['env'] === 'staging', 'enrolled with the first token');

    const { rows } = await h.db.query(
      `INSERT INTO agent_credentials (tenant_id, instance_uid, secret_hash, state, enrollment_token_id) VALUES ($1, $2, $3, 'active', $4) RETURNING id`,
      [h.tenant, agent.uid, randomBytes(32), second],
    );
    agent.credentialId = String(rows[0]['id']);
    agent.credentialKind = AGENT;
    const before = eventsOf(agent).length;
    await h.produce([agent.toKafka(agent.connect())]);
    const s = await stored(agent, (st) => st.credentialKind === AGENT && st.labels['tier'] === 'gold', 'its own credential\'s labels');
    expect(s.labels['env']).toBe('prod');
    expect(s.enrollmentLabels).toEqual({ env: 'prod', tier: 'gold' });
    const event = await waitFor(() => eventsOf(agent).slice(before).find((e) => labelsOf(e)['tier'] === 'gold'), (e) => e !== undefined, {
      timeoutMs: 20_000,
      description: 'the credential change event',
    });
    expect(event!.changes & AgentChange.AGENT_CHANGE_DESCRIPTION).toBeTruthy();
    expect(event!.changes & AgentChange.AGENT_CHANGE_CREDENTIAL).toBeTruthy();
  });

  it('gives no labels for a credential the database does not know, and processes the batch', async () => {
    const agent = new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now() });
    agent.credentialId = 'static-1a2b3c4d';
    agent.credentialKind = ENROLLMENT;
    await h.produce([agent.toKafka(agent.connect()), agent.toKafka(agent.full({ agentDescription: description('otelcol', { env: 'dev' }) }))]);
    const s = await stored(agent, (st) => st.descriptionReported, 'the agent stored');
    expect(s.enrollmentLabels).toEqual({});
    expect(s.labels['env']).toBe('dev');
  });
});
