/**
 * This server's own traces across every process (issue 21 item 1): gateways,
 * status-ingest and config-service as processes, each exporting over OTLP/HTTP
 * to a receiver of the test, every agent message sampled. An agent's first
 * message selects it for a configuration; the trace it starts must show the
 * whole loop: the gateway receives it, status-ingest applies it,
 * config-service reconciles and pushes the configuration, the gateway
 * delivers it, and the agent's answer (its config status) continues the same
 * trace through the gateway and status-ingest again. Then an API call changes
 * the configuration: its trace (every mutation is traced) goes from the call
 * through the re-evaluation job it recorded to the push, the delivery and
 * the agent's answer.
 */
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent } from '@opamp/agent-sim';
import { OtlpTraceReceiver, waitFor } from '@opamp/testing';
import { loadE2eConfig } from './config/e2e.config';
import { DistributedFleet } from './harness/distributed-fleet';

const START_MS = 90_000;
const receiver = new OtlpTraceReceiver();
let fleet: DistributedFleet;
let agent: SimulatedAgent | null = null;
let failed = false;

beforeAll(async () => {
  await receiver.start();
  fleet = new DistributedFleet(loadE2eConfig(), { startMs: START_MS }, { OPAMP_TRACING_OTLP_ENDPOINT: receiver.url, OPAMP_TRACING_SAMPLE_RATIO: '1' });
  await fleet.start().catch((err: unknown) => {
    failed = true;
    throw fleet.explain(err);
  });
}, START_MS + 30_000);

afterAll(async () => {
  await agent?.stop();
  await fleet?.stop();
  await fleet?.cleanUp(failed);
  await receiver.stop();
}, 60_000);

const CONFIG = 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n';

describe('one trace across gateway, status-ingest and config-service', () => {
  it("follows an agent's configuration from its first message to its APPLIED answer", async () => {
    try {
      expect((await fleet.api('POST', '/configurations', { name: 'traced', files: { 'collector.yaml': { body: CONFIG, contentType: 'text/yaml' } } })).status).toBe(200);
      expect((await fleet.api('POST', '/assignments', { name: 'traced', configurationName: 'traced', selector: 'env=traced', priority: 1 })).status).toBe(200);
      agent = new SimulatedAgent({
        endpoint: fleet.wsEndpoint,
        headers: { Authorization: `Bearer ${fleet.agentToken}` },
        capabilities: DEFAULT_AGENT_CAPABILITIES,
        heartbeatIntervalMs: 30_000,
        reconnect: { initialMs: 200, maxMs: 2_000 },
        description: { identifying: { 'service.name': 'traced-agent' }, nonIdentifying: { env: 'traced', 'os.type': 'linux' } },
      });
      agent.on('error', () => undefined);
      agent.start();
      const uid = agent.instanceUid.toString('hex');

      // The push's delivery at a gateway names the agent; its trace holds the rest.
      const chain = await waitFor(() => receiver.agentLoop(uid), (c) => c !== null, { timeoutMs: 60_000, intervalMs: 250, description: 'a trace from the agent message to its answer' });
      const c = chain!;
      expect([c.receive.service, c.receive.name, c.receive.parentSpanId]).toEqual(['gateway', 'opamp.receive', '']);
      expect([c.apply.service, c.apply.name]).toEqual(['status-ingest', 'ingest.apply']);
      expect([c.reconcile.service, c.reconcile.name]).toEqual(['config-service', 'config.reconcile']);
      expect(c.deliver.service).toBe('gateway');
      for (const s of [c.receive, c.apply, c.reconcile, c.deliver, c.answer, c.answerApplied]) {
        expect(s.traceId).toBe(c.receive.traceId);
        expect(s.attributes['opamp.instance_uid']).toBe(uid);
        expect(s.statusCode).not.toBe(2);
      }
      expect(c.receive.attributes['opamp.tenant']).toBe(fleet.tenant);
    } catch (err) {
      failed = true;
      throw fleet.explain(err);
    }
  }, 120_000);

  it("follows an API change of the configuration to the agent's answer", async () => {
    try {
      const uid = agent!.instanceUid.toString('hex');
      const updated = await fleet.api('PUT', '/configurations/traced', { files: { 'collector.yaml': { body: `${CONFIG}# v2\n`, contentType: 'text/yaml' } } });
      expect(updated.status).toBe(200);
      const chain = await waitFor(
        () => {
          for (const call of receiver.spans.filter((s) => s.name === 'api.UpdateConfiguration')) {
            const page = receiver.childOf(call, 'config.reevaluate', 'config-service');
            const deliver = page && receiver.spans.find((s) => s.name === 'opamp.deliver' && s.parentSpanId === page.spanId && s.attributes['opamp.instance_uid'] === uid);
            const answer = deliver && receiver.childOf(deliver, 'opamp.receive', 'gateway');
            const applied = answer && receiver.childOf(answer, 'ingest.apply', 'status-ingest');
            if (applied) return { call, page, deliver, answer, applied };
          }
          return null;
        },
        (c) => c !== null,
        { timeoutMs: 60_000, intervalMs: 250, description: 'a trace from the API call to the agent answer' },
      );
      expect([chain!.call.service, chain!.call.parentSpanId, chain!.call.attributes['opamp.tenant']]).toEqual(['config-service', '', fleet.tenant]);
      expect(chain!.page!.attributes['opamp.reason']).toBe('configuration.update');
    } catch (err) {
      failed = true;
      throw fleet.explain(err);
    }
  }, 120_000);
});
