/**
 * An agent event that arrives before its agent's row is committed: status-ingest
 * publishes the event inside its transaction, before COMMIT, so a new agent's
 * event can reach config-service first. The reconciler waits for the row
 * (AGENT_ROW_WAIT_MS) instead of deciding without it, which dropped the new
 * agent's state and first push (seen in the distributed e2e under load: an agent
 * created anew after a delete never got in sync).
 */
import { AgentCapabilities as C, decodeServerToAgent } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth;
const body = `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n`;

let bed: ConfigServiceBed;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('ebr', { tenants: 1, pushes: true });
  const ok = async (path: string, payload: unknown) => expect((await bed.rest('POST', path, payload)).status).toBe(200);
  await ok('/configurations', { name: 'cfg-ebr', files: { 'c.yaml': { body, contentType: 'text/yaml' } } });
  await ok('/assignments', { name: 'ebr', configurationName: 'cfg-ebr', selector: 'group=ebr' });
}, 120_000);

afterAll(async () => {
  await bed?.close();
});

const remoteConfigsOf = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.remoteConfig?.configHash?.length);

it('decides a new agent whose event came before its row once the row is committed: its state and its push', async () => {
  const tenant = bed.tenants[0].id;
  const agent = { tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: 'ebr' } };
  const seen = bed.reconciler.metrics.events;
  const handled = bed.reconciler.metrics.eventsHandled;
  await bed.publishEvent(agent);
  await waitFor(() => bed.reconciler.metrics.events, (n) => n > seen, { description: 'the event taken by the reconciler', intervalMs: 5 });
  // The row commits after the event was taken, as when status-ingest's COMMIT trails its publish.
  await bed.writeReportedRow(agent);
  await waitFor(() => remoteConfigsOf(agent.uid).length, (n) => n === 1, { description: 'its configuration pushed', timeoutMs: 15_000 });
  await bed.handled(handled, 1);
  const shown = await bed.rest('GET', `/agents/${agent.uid.toString('hex')}`);
  expect(shown.json).toMatchObject({ configurationName: 'cfg-ebr', configurationVersion: 1 });
  expect(decodeServerToAgent(bed.pushes.find((p) => Buffer.from(p.instanceUid).equals(agent.uid))!.serverToAgent).remoteConfig?.config?.configMap).toBeDefined();
  expect(bed.reconciler.metrics.agentRowsAwaited).toBeGreaterThanOrEqual(1);
});

it('gives up on an agent whose row never comes (deleted) after the wait, and handles the batch', async () => {
  const tenant = bed.tenants[0].id;
  const agent = { tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: 'ebr' } };
  const handled = bed.reconciler.metrics.eventsHandled;
  const missing = bed.reconciler.metrics.agentRowsMissing;
  await bed.publishEvent(agent);
  await waitFor(() => bed.reconciler.metrics.eventsHandled, (n) => n > handled, { description: 'the batch handled', timeoutMs: 15_000 });
  expect(bed.reconciler.metrics.agentRowsMissing).toBe(missing + 1);
  expect(remoteConfigsOf(agent.uid)).toEqual([]);
  expect((await bed.rest('GET', `/agents/${agent.uid.toString('hex')}`)).status).toBe(404);
});
