/**
 * The console's package pages end to end (issue 17 item 5): the built
 * embedded server as a process, simulated agents that accept packages and
 * really download what they are offered from the server, headless Chromium.
 * A package is created (a bad name shows the API's message), two versions are
 * registered by uploading files from the browser (the progress reaches 100 %,
 * the hash shown is the file's), a package assignment sends 1.0.0 to a group
 * whose agents then show it installed and in sync on their page, a package
 * rollout to 1.1.0 created on its page runs batch by batch to completion while
 * the page follows it (with the group's package state, as on the assignments
 * page), and the audit page's package preset lists every change.
 * Screenshots go to tmp/console-screenshots/packages-*.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { openConsoleBrowser, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor, type ConsoleBrowser, type EmbeddedServerProcess } from '@opamp/testing';

const repo = join(__dirname, '..', '..', '..');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('console: packages (embedded server, simulated agents downloading, headless Chromium)', () => {
  const work = mkdtempSync(join(tmpdir(), 'console-packages-'));
  let server: EmbeddedServerProcess;
  let browser: ConsoleBrowser;
  const agents: SimulatedAgent[] = [];
  const files = { '1.0.0': randomBytes(3 * 1024 * 1024), '1.1.0': randomBytes(2 * 1024 * 1024 + 17) };
  const page = () => browser.page;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rest = async <T = Record<string, any>>(method: string, path: string): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${server.api}${path}`, { method, headers: { authorization: `Bearer ${server.adminToken}` } });
    return { status: res.status, json: (await res.json()) as T };
  };

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000 });
    browser = await openConsoleBrowser({ base: server.base, adminToken: server.adminToken, screenshots: join(repo, 'tmp', 'console-screenshots') });
    for (const endpoint of [server.ws, server.ws, server.http]) {
      const a = new SimulatedAgent({
        endpoint,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol', 'service.version': '0.9.0', fleet: 'console-pkg' }, nonIdentifying: { 'os.type': 'linux', 'host.arch': 'amd64' } },
        capabilities: C.ReportsStatus | C.ReportsHeartbeat | C.ReportsHealth | C.AcceptsPackages | C.ReportsPackageStatuses,
        agentPackage: 'otelcol',
        heartbeatIntervalMs: 1_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
      });
      agents.push(a);
      a.start();
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  it('creates a package; a name the API refuses shows its message', async () => {
    await page().getByTestId('nav-packages').click();
    await page().getByTestId('packages-table').waitFor();
    await page().getByTestId('new-package').click();
    await page().getByTestId('package-name').fill('Not A Name!');
    await page().getByTestId('create-package').click();
    const refusal = await page().getByRole('alert').innerText();
    expect(refusal).toContain('Not created');
    expect(refusal).toMatch(/name/i);
    await page().getByTestId('package-name').fill('otelcol');
    await page().getByTestId('create-package').click();
    await page().waitForURL((u) => u.pathname === '/packages/otelcol');
    expect((await rest('GET', '/packages/otelcol')).json['kind']).toBe('PACKAGE_KIND_AGENT');
  });

  it('registers two versions by uploading files: progress to 100 %, the hash of the bytes', async () => {
    for (const [version, bytes] of Object.entries(files)) {
      const path = join(work, `otelcol-${version}`);
      writeFileSync(path, bytes);
      await page().getByTestId('new-version').click();
      await page().getByTestId('version-input').fill(version);
      await page().getByTestId('file-input').setInputFiles(path);
      await page().getByTestId('register-version').click();
      await page().getByTestId('package-result').getByText(`${version} registered.`).waitFor();
      const row = page().getByTestId('version-row').filter({ hasText: version });
      expect(await row.getByTestId('version-files').innerText()).toContain(sha(bytes).slice(0, 12));
      if (version === '1.0.0') await browser.shot('packages-01-version-registered');
    }
    const got = await rest<{ versions: Array<{ version: string; files: Array<{ sha256: string; source: string }> }> }>('GET', '/packages/otelcol');
    expect(got.json.versions.map((v) => [v.version, v.files[0].sha256, v.files[0].source]).sort()).toEqual([
      ['1.0.0', sha(files['1.0.0']), 'upload'],
      ['1.1.0', sha(files['1.1.0']), 'upload'],
    ]);
  });

  it('shows the upload progress reaching 100 %', async () => {
    // A third version so the progress line is on screen when asserted (the form closes after registering).
    const path = join(work, 'otelcol-1.2.0');
    writeFileSync(path, randomBytes(4 * 1024 * 1024));
    await page().getByTestId('new-version').click();
    await page().getByTestId('version-input').fill('1.2.0');
    await page().getByTestId('file-input').setInputFiles(path);
    const seen: string[] = [];
    const watcher = setInterval(() => {
      void page()
        .getByTestId('upload-progress')
        .innerText({ timeout: 100 })
        .then((t) => seen.push(t))
        .catch(() => undefined);
    }, 20);
    await page().getByTestId('register-version').click();
    await page().getByTestId('package-result').getByText('1.2.0 registered.').waitFor();
    clearInterval(watcher);
    expect(seen.some((t) => t.startsWith('100 % · 4.0 MiB of 4.0 MiB'))).toBe(true);
    // Withdraw it again (after the confirmation): shown as withdrawn, offered to nobody.
    await page().getByTestId('version-row').filter({ hasText: '1.2.0' }).getByTestId('withdraw-version').click();
    await page().getByTestId('package-result').getByText('1.2.0 withdrawn.').waitFor();
    await waitFor(() => page().getByTestId('version-row').filter({ hasText: '1.2.0' }).innerText(), (t) => t.includes('withdrawn'), { description: '1.2.0 shown withdrawn' });
    await page().getByTestId('nav-packages').click();
    await waitFor(() => page().getByTestId('package-latest').innerText(), (t) => t === '1.1.0', { description: 'the catalog: the newest not withdrawn version' });
  });

  it('assigns 1.0.0 to the group: the agents download it and show it installed, in sync', async () => {
    await page().getByTestId('tab-package-assignments').click();
    await page().getByTestId('new-package-assignment').click();
    await page().getByTestId('pa-name').fill('console-pkg');
    await page().getByTestId('pa-selector').fill('fleet=console-pkg');
    await page().getByTestId('pa-packages').fill('otelcol@1.0.0');
    await page().getByTestId('pa-save').click();
    await waitFor(() => page().getByTestId('pa-row-packages').allInnerTexts(), (t) => t.join() === 'otelcol@1.0.0', { description: 'the assignment listed' });

    const uids = agents.map((a) => a.instanceUid.toString('hex'));
    await waitFor(() => Promise.all(uids.map(async (u) => (await rest('GET', `/agents/${u}/packages`)).json['state'])), (s) => s.every((x) => x === 'in_sync'), {
      timeoutMs: 30_000,
      description: 'every agent in sync with 1.0.0',
    });
    // The group's state on the assignment page: every agent installed at 1.0.0.
    await page().getByTestId('pa-state').click();
    await waitFor(() => page().getByTestId('pas-installed').innerText(), (t) => t === String(uids.length), { timeoutMs: 15_000, description: 'the group counted installed' });
    expect(await page().getByTestId('pas-agents').innerText()).toBe(String(uids.length));
    await browser.shot('packages-02-assignment-state');
    await page().goto(`${server.base}/agents/${uids[0]}`);
    await waitFor(() => page().getByTestId('agent-packages-state').innerText(), (t) => t === 'in sync', { description: 'the decision shown: in sync' });
    await waitFor(() => page().getByTestId('package-status').innerText(), (t) => t === 'installed', { description: 'the reported status: installed' });
    expect(await page().getByTestId('package-has').innerText()).toContain('1.0.0');
    await browser.shot('packages-02-agent-installed');
  });

  it('rolls 1.1.0 out from the package rollout page and follows it to completion', async () => {
    await page().goto(`${server.base}/package-rollouts`);
    await page().getByTestId('new-prollout').click();
    await page().getByTestId('prollout-to').fill('otelcol@1.1.0');
    await page().getByTestId('prollout-name').fill('console-pkg-1-1');
    await page().getByTestId('prollout-soak').fill('0.2');
    await page().getByTestId('prollout-strategy').fill('1');
    await page().getByTestId('create-prollout').click();
    await page().waitForURL((u) => u.pathname === '/package-rollouts/console-pkg-1-1');
    expect(await page().getByTestId('prollout-versions').innerText()).toBe('otelcol@1.0.0 → otelcol@1.1.0');
    await waitFor(() => page().getByTestId('rollout-state').innerText(), (t) => t === 'completed', { timeoutMs: 40_000, description: 'the page shows the rollout completed' });
    await waitFor(() => page().getByTestId('prollout-batch-state').allInnerTexts(), (s) => s.join() === 'passed,passed,passed', { description: 'three batches passed' });
    expect(await page().getByTestId('prollout-installed').innerText()).toBe('3');
    await waitFor(() => page().getByTestId('rollout-events').innerText(), (t) => t.includes('batch 3'), { description: 'the events followed' });
    expect(agents.map((a) => a.description?.identifying?.['service.version'])).toEqual(['1.1.0', '1.1.0', '1.1.0']);
    // The group of the rollout's assignment on the same page: every agent installed at the version the rollout moved it to.
    const group = page().getByTestId('package-assignment-status');
    expect(await page().locator('.card', { has: group }).locator('h2').innerText()).toBe('Agents of console-pkg');
    await waitFor(() => group.getByTestId('pas-installed').innerText(), (t) => t === '3', { timeoutMs: 15_000, description: 'the group counted installed at 1.1.0' });
    expect([await group.getByTestId('pas-agents').innerText(), await group.getByTestId('pas-otherVersion').innerText(), await group.getByTestId('pas-downloading').innerText()]).toEqual(['3', '0', '0']);
    await browser.shot('packages-03-rollout-completed');
  });

  it('the audit page lists the package changes under its preset', async () => {
    await page().getByTestId('nav-audit-log').click();
    await page().getByTestId('audit-preset-package').click();
    await page().waitForURL((u) => u.search === '?q=package');
    const actions = () => page().locator('[data-testid="audit-row"] .chip').allInnerTexts();
    await waitFor(actions, (a) => ['package.create', 'package_file.upload', 'package_version.create', 'package_version.withdraw', 'package_assignment.create', 'package_rollout.create'].every((x) => a.includes(x)), {
      description: 'every package action listed',
    });
    // The search ran on the server: every row it returned names a package somewhere (action, resource or details).
    const rows = await page().getByTestId('audit-row').allInnerTexts();
    expect(rows.length).toBeGreaterThanOrEqual(7);
    expect(rows.filter((r) => !/package/i.test(r))).toEqual([]);
    await browser.shot('packages-04-audit');
  });
});
