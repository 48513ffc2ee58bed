/**
 * The console's view of agents' identity, end to end: the built embedded
 * server as a process, the opamp-go test agent (a real OpAMP client that
 * applies connection-settings offers) and a simulated agent without the
 * capability, headless Chromium. The agents table shows each agent's
 * credential state and filters on it; the agent page's Identity section shows
 * the enrollment and the credentials, rotates (the agent switches; an agent
 * that is away stays listed under Pending switches) and revokes after a
 * reason and a confirmation. An agent with a client certificate (its CSR
 * signed by the tenant CA) shows when that ends, and the "expires within 7
 * days" filter finds it. Screenshots go to tmp/console-screenshots/identity-*.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import {
  buildOpampGoAgent,
  openConsoleBrowser,
  startEmbeddedServerProcess,
  startOpampGoAgent,
  stopEmbeddedServerProcess,
  waitFor,
  type ConsoleBrowser,
  type EmbeddedServerProcess,
  type OpampGoAgentProcess,
} from '@opamp/testing';

const repo = join(__dirname, '..', '..', '..');
const MARKUP = '<img src=x onerror=alert(1)>';

interface ApiCredential {
  id: string;
  state: string;
  revokeReason: string;
}

describe('console: agents identity (embedded server, opamp-go agent, headless Chromium)', () => {
  const work = mkdtempSync(join(tmpdir(), 'console-identity-'));
  let server: EmbeddedServerProcess;
  let browser: ConsoleBrowser;
  let goAgent: OpampGoAgentProcess;
  let plain: SimulatedAgent;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rest = async <T = Record<string, any>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as T };
  };
  const credentialsOf = async (uid: string) => (await rest<{ credentials: ApiCredential[] }>('GET', `/agents/${uid}/credentials`)).json.credentials;
  const page = () => browser.page;
  const plainUid = () => plain.instanceUid.toString('hex');
  const rowStates = () => page().getByTestId('credential-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')).sort());

  beforeAll(async () => {
    let binary: string;
    [binary, server] = await Promise.all([buildOpampGoAgent(), startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000 })]);
    browser = await openConsoleBrowser({ base: server.base, adminToken: server.adminToken, screenshots: join(repo, 'tmp', 'console-screenshots') });
    goAgent = await startOpampGoAgent({ binary, endpoint: server.ws, token: server.agentToken, stateDir: join(work, 'go-agent'), heartbeatSeconds: 1, labels: { role: 'go' } });
    plain = new SimulatedAgent({
      endpoint: server.ws,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      description: { identifying: { 'service.name': 'plain', note: MARKUP }, nonIdentifying: {} },
      capabilities: C.ReportsStatus | C.ReportsHeartbeat,
      heartbeatIntervalMs: 1_000,
      reconnect: { initialMs: 100, maxMs: 1_000 },
    });
    plain.start();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await goAgent?.terminate();
    await plain?.stop().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  it('agents table: the credential column, and the filter on it (kept in the URL, answered by the server)', async () => {
    await goAgent.waitForEvent((e) => e.event === 'settings_applied', 30_000, 'the offer applied');
    await waitFor(() => credentialsOf(goAgent.uid), (c) => c.some((x) => x.state === 'ACTIVE'), { timeoutMs: 30_000, description: 'its own credential active' });
    await waitFor(() => rest('GET', `/agents/${plainUid()}`), (r) => r.status === 200, { timeoutMs: 20_000, description: 'the simulated agent listed' });

    await page().goto(`${server.base}/agents`);
    const stateOf = (uid: string) => page().locator(`[data-testid="agent-row"][data-uid="${uid}"] [data-testid="agent-credential"]`);
    await waitFor(() => stateOf(goAgent.uid).getAttribute('data-state'), (s) => s === 'ACTIVE', { description: 'the go agent shown on its own credential' });
    expect(await stateOf(goAgent.uid).innerText()).toBe('active');
    expect(await stateOf(plainUid()).getAttribute('data-state')).toBe('NONE');
    // A value from an agent is text on the page, never markup.
    const plainRow = page().locator(`[data-testid="agent-row"][data-uid="${plainUid()}"]`);
    expect(await plainRow.innerText()).toContain(`note=${MARKUP}`);
    expect(await plainRow.locator('img').count()).toBe(0);

    const asked = page().waitForRequest((r) => r.url().includes('/api/v1/agents?') && r.url().includes('credentialState=NONE'));
    await page().getByTestId('filter-credential').locator('[data-state="NONE"]').click();
    await asked;
    await waitFor(() => page().getByTestId('agent-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-uid'))), (u) => u.length === 1 && u[0] === plainUid(), {
      description: 'only the agent without a credential of its own',
    });
    expect(page().url()).toContain('credential=none');
    await browser.shot('identity-01-agents-credential-filter');
  });

  it('agent page: enrollment and credentials; Rotate moves the agent to a new credential', async () => {
    await page().goto(`${server.base}/agents/${goAgent.uid}`);
    await page().getByTestId('identity').waitFor();
    await waitFor(() => page().getByTestId('enrollments').innerText(), (t) => t.trim() === '1', { description: 'one enrollment shown' });
    expect(await page().getByTestId('credential-kind').innerText()).toBe('own credential');
    await waitFor(rowStates, (s) => s.join() === 'ACTIVE', { description: 'its one credential, active' });

    const before = goAgent.events.length;
    await page().getByTestId('rotate-credential').click(); // the confirmation is accepted
    await page().getByTestId('identity-result').getByText('Rotated: 1 credential.').waitFor();
    await goAgent.waitForEvent((e) => e.event === 'settings_applied' && goAgent.events.indexOf(e) >= before, 30_000, 'the rotation applied by the agent');
    await waitFor(rowStates, (s) => s.join() === 'ACTIVE,SUPERSEDED', { timeoutMs: 20_000, description: 'the new one active, the old superseded' });
    await browser.shot('identity-02-agent-rotated');
  });

  it('an agent that is away when rotated is listed under Pending switches; Revoke asks for a reason, then ends every credential', async () => {
    await goAgent.stop();
    await waitFor(() => rest('GET', `/agents/${goAgent.uid}`), (r) => r.json['connected'] === false, { timeoutMs: 20_000, description: 'the go agent disconnected' });
    await page().getByTestId('rotate-credential').click();
    await page().getByTestId('identity-result').getByText('Rotated: 1 credential.').waitFor();
    await waitFor(rowStates, (s) => s.join() === 'ACTIVE,OFFERED,SUPERSEDED', { description: 'a new one on offer beside the active one' });
    await waitFor(() => page().getByTestId('rotate-reason').count(), (n) => n === 1, { description: 'rotation refused while one is under way' });
    expect(await page().getByTestId('rotate-credential').isDisabled()).toBe(true);

    await page().goto(`${server.base}/agents`);
    await page().getByTestId('tab-pending-switches').click();
    await page().waitForURL((u) => u.pathname === '/agents/pending-switches');
    const pending = await rest<{ credentials: Array<{ instanceUid: string }> }>('GET', '/agent-credentials:pending-switches');
    expect(pending.json.credentials.map((c) => c.instanceUid)).toEqual([goAgent.uid]);
    await waitFor(() => page().getByTestId('pending-switch-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-uid'))), (u) => u.join() === goAgent.uid, {
      description: 'the agent listed as pending',
    });
    await browser.shot('identity-03-pending-switches');

    await page().locator(`[data-testid="pending-switch-row"] a`).click();
    await page().getByTestId('identity').waitFor();
    await page().getByTestId('revoke-credential').click();
    // No reason, no revocation.
    expect(await page().getByTestId('revoke-confirm').isDisabled()).toBe(true);
    await page().getByTestId('revoke-reason-input').fill(MARKUP);
    await page().getByTestId('revoke-confirm').click(); // the confirmation is accepted
    await page().getByTestId('identity-result').getByText('Revoked: 2 credentials.').waitFor();
    await waitFor(rowStates, (s) => s.join() === 'REVOKED,REVOKED,SUPERSEDED', { description: 'both accepted credentials revoked' });
    // The agent's own state follows at once (the page reloads the agent after a change).
    await waitFor(() => page().getByTestId('identity-state').getAttribute('data-state'), (s) => s === 'REVOKED', { timeoutMs: 2_500, description: 'the agent shown revoked' });
    expect(await page().getByTestId('rotate-reason').innerText()).toContain('revoked');
    expect(await page().getByTestId('revoke-reason').first().innerText()).toBe(MARKUP);
    expect(await page().getByTestId('identity').locator('img').count()).toBe(0);
    expect((await credentialsOf(goAgent.uid)).filter((c) => c.state === 'REVOKED').map((c) => c.revokeReason)).toEqual([MARKUP, MARKUP]);
    expect((await rest('GET', '/agent-credentials:pending-switches')).json['credentials']).toEqual([]);
    expect(await page().getByTestId('revoke-credential').isDisabled()).toBe(true);
    await browser.shot('identity-04-agent-revoked');
  });

  it('agents table: the certificate column (when it ends), and the "expires within 7 days" filter (kept in the URL, answered by the server)', async () => {
    expect((await rest('POST', '/certificate-authorities', {})).status).toBe(200);
    const certAgent = await startOpampGoAgent({ endpoint: server.ws, token: server.agentToken, stateDir: join(work, 'cert-agent'), heartbeatSeconds: 1, requestCertificate: true, labels: { role: 'cert' } });
    try {
      await certAgent.waitForEvent((e) => e.event === 'certificate_offered', 30_000, 'its certificate offered');
      await page().goto(`${server.base}/agents`);
      const cellOf = (uid: string) => page().locator(`[data-testid="agent-row"][data-uid="${uid}"] [data-testid="agent-certificate"]`);
      await waitFor(() => cellOf(certAgent.uid).getAttribute('data-state'), (s) => s === 'ISSUED', { description: 'the certificate shown' });
      // The tenant's default lifetime (7 days): inside the window, so it warns.
      expect(await cellOf(certAgent.uid).innerText()).toMatch(/^in (6|7) d$/);
      const [listed] = (await rest<{ certificates: Array<{ notAfter: string }> }>('GET', `/agent-certificates?instanceUid=${certAgent.uid}`)).json.certificates;
      expect(await cellOf(certAgent.uid).getAttribute('data-not-after')).toBe(listed.notAfter);
      expect(await cellOf(plainUid()).innerText()).toBe('—');
      // A compact column: at 1440 px it takes little of the table (console.e2e checks the table fits, no certificates there).
      await page().setViewportSize({ width: 1440, height: 900 });
      const width = (await page().evaluate(`document.querySelector('[data-testid="agents-table"] th[data-testid="col-certificate"]').getBoundingClientRect().width`)) as number;
      expect(width).toBeLessThanOrEqual(100);

      const asked = page().waitForRequest((r) => r.url().includes('/api/v1/agents?') && r.url().includes('certificateExpiresWithinDays=7'));
      await page().getByTestId('filter-certificate-expiry').locator('button').click();
      await asked;
      await waitFor(() => page().getByTestId('agent-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-uid'))), (u) => u.length === 1 && u[0] === certAgent.uid, {
        description: 'only the agent whose certificate ends within 7 days',
      });
      expect(page().url()).toContain('certExpires=7');
      await browser.shot('identity-05-agents-certificate-expiry');
    } finally {
      await certAgent.terminate();
    }
  });
});
