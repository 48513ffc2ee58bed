/**
 * The agent page's remote configuration card: assignment, hashes, status, and
 * the effective configuration the agent reports compared with the desired one
 * rendered for it (semantically, components/ConfigCompareView).
 *
 * Agents that do not report their effective configuration (no
 * ReportsEffectiveConfig) are compared by hash instead: the "reported" side is
 * the stored version whose rendering has the hash the agent reports.
 *
 * When the desired configuration is not sendable to this agent the render call
 * returns no files; the version as stored is shown instead, so the operator
 * still sees what was meant for the agent.
 */
import { useEffect, useState } from 'react';
import { useApi } from '../api/context';
import { notSentText, shortHex } from '../lib/format';
import type { AgentDetail as AgentData, ConfigFiles, ListConfigurationVersionsResponse, RenderConfigurationResponse } from '../lib/types';
import { Link } from '../router';
import { ConfigStatusBadge, SyncBadge } from '../components/badges';
import { ConfigCompareView } from '../components/ConfigCompareView';
import { DiffView, FilesView } from '../components/DiffView';
import { Card, ErrorBox, KeyValues, Missing } from '../components/ui';

interface ConfigComparison {
  desired?: RenderConfigurationResponse;
  desiredLabel: string;
  /** Not sendable: the files of the version as stored (not rendered for this agent). */
  storedDesired?: ConfigFiles;
  /** The effective configuration the agent reports, else the stored version whose rendering for this agent has the hash it reports. */
  reported?: { label: string; files: ConfigFiles; effective: boolean };
  note: string;
}

/** Finds what the agent runs among the newest versions of its configuration (by rendered hash). */
async function compareConfig(api: ReturnType<typeof useApi>, agent: AgentData): Promise<ConfigComparison> {
  const effective =
    Object.keys(agent.effectiveConfig ?? {}).length > 0
      ? { label: `effective (reported by the agent, hash ${shortHex(agent.effectiveConfigHash)})`, files: agent.effectiveConfig, effective: true }
      : undefined;
  if (!agent.configurationName) return { desiredLabel: '', reported: effective, note: 'No assignment selects a configuration for this agent.' };
  const name = encodeURIComponent(agent.configurationName);
  if (!agent.configurationVersion) return { desiredLabel: '', reported: effective, note: `${agent.configurationName} has no version for this agent.` };
  const desired = await api.post<RenderConfigurationResponse>(`/configurations/${name}:render`, { version: agent.configurationVersion, instanceUid: agent.instanceUid });
  const desiredLabel = `desired: ${agent.configurationName} v${agent.configurationVersion}`;
  let versions: ListConfigurationVersionsResponse | undefined;
  const listVersions = async () => (versions ??= await api.get<ListConfigurationVersionsResponse>(`/configurations/${name}/versions`));
  if (!desired.sendable) {
    const stored = (await listVersions()).versions.find((v) => v.version === agent.configurationVersion)?.files;
    return { desired, desiredLabel: `${desiredLabel} as stored (not rendered for this agent)`, storedDesired: stored, reported: effective, note: '' };
  }
  if (effective) return { desired, desiredLabel, reported: effective, note: '' };
  const byHash = (version: number) => `reported: ${agent.configurationName} v${version} (hash ${shortHex(agent.remoteConfigHash)})`;
  if (!agent.remoteConfigHash) return { desired, desiredLabel, note: 'The agent reports no remote-config hash.' };
  if (agent.remoteConfigHash === desired.configHash) return { desired, desiredLabel, reported: { label: byHash(agent.configurationVersion), files: desired.files, effective: false }, note: '' };
  for (const v of (await listVersions()).versions.slice(0, 20)) {
    if (v.version === agent.configurationVersion) continue;
    const r = await api.post<RenderConfigurationResponse>(`/configurations/${name}:render`, { version: v.version, instanceUid: agent.instanceUid });
    if (r.configHash === agent.remoteConfigHash) return { desired, desiredLabel, reported: { label: byHash(v.version), files: r.files, effective: false }, note: '' };
  }
  return {
    desired,
    desiredLabel,
    note: `The hash the agent reports (${shortHex(agent.remoteConfigHash, 12)}) matches no recent version of ${agent.configurationName}: it runs another configuration.`,
  };
}

function Comparison({ cmp }: { cmp: ConfigComparison }) {
  const desiredFiles = cmp.desired?.sendable ? cmp.desired.files : cmp.storedDesired;
  return (
    <>
      {cmp.note && <p className="muted">{cmp.note}</p>}
      {cmp.desired && !cmp.desired.sendable && (
        <div className="error-box" data-testid="not-sendable">
          Not sendable to this agent: {notSentText(cmp.desired.reason)}
        </div>
      )}
      {desiredFiles && cmp.reported?.effective ? (
        <ConfigCompareView desired={desiredFiles} effective={cmp.reported.files} desiredLabel={cmp.desiredLabel} effectiveLabel={cmp.reported.label} />
      ) : desiredFiles && cmp.reported ? (
        <DiffView before={cmp.reported.files} after={desiredFiles} beforeLabel={cmp.reported.label} afterLabel={cmp.desiredLabel} />
      ) : (
        <>
          {desiredFiles && (
            <div data-testid="desired-config">
              <h3>{cmp.desired?.sendable ? 'Desired files, rendered for this agent' : cmp.desiredLabel}</h3>
              <FilesView files={desiredFiles} />
            </div>
          )}
          {cmp.reported && (
            <div data-testid="effective-config">
              <h3>{cmp.reported.label}</h3>
              <FilesView files={cmp.reported.files} />
            </div>
          )}
        </>
      )}
    </>
  );
}

export function RemoteConfig({ agent: a }: { agent: AgentData }) {
  const api = useApi();
  const configKey = `${a.configurationName}|${a.configurationVersion}|${a.remoteConfigHash}|${a.effectiveConfigHash}|${a.notSentReason}`;
  const [cmp, setCmp] = useState<{ key: string; value?: ConfigComparison; error?: unknown } | null>(null);
  const has = new Set(a.capabilityNames);

  useEffect(() => {
    let stale = false;
    compareConfig(api, a).then(
      (value) => !stale && setCmp({ key: configKey, value }),
      (error: unknown) => !stale && setCmp({ key: configKey, error }),
    );
    return () => {
      stale = true;
    };
  }, [api, configKey]); // a is read for the key's values only

  return (
    <Card title="Remote configuration">
      <KeyValues
        rows={[
          ['Assigned', a.configurationName ? <Link to={`/configurations/${encodeURIComponent(a.configurationName)}`}>{`${a.configurationName} v${a.configurationVersion}`}</Link> : 'no assignment matches'],
          ['Desired hash', <span className="mono">{shortHex(a.desiredConfigHash, 16)}</span>],
          ['Reported status', <ConfigStatusBadge key="s" status={a.remoteConfigStatus} />],
          ['Reported hash', <span className="mono">{shortHex(a.remoteConfigHash, 16)}</span>],
          ['In sync', <SyncBadge key="y" agent={a} />],
          ...(a.notSentReason ? ([['Not sent because', <span className="text-bad" data-testid="not-sent-reason">{notSentText(a.notSentReason)}</span>]] as [string, React.ReactNode][]) : []),
          ...(a.remoteConfigError ? ([['Agent error', <span className="text-bad" data-testid="remote-config-error">{a.remoteConfigError}</span>]] as [string, React.ReactNode][]) : []),
        ]}
      />
      <h3>{cmp?.value?.reported?.effective ? 'Effective vs desired' : 'Reported vs desired'}</h3>
      {!cmp || cmp.key !== configKey ? (
        <p className="muted">Rendering…</p>
      ) : cmp.error ? (
        <ErrorBox error={cmp.error} title="Could not render the desired configuration" />
      ) : (
        cmp.value && <Comparison cmp={cmp.value} />
      )}
      {!a.effectiveConfigHash && (
        <Missing>
          {has.has('ReportsEffectiveConfig')
            ? 'The agent has not reported its effective configuration yet: the “reported” side is the stored version whose rendering has the hash it reports.'
            : 'The agent does not report its effective configuration (no ReportsEffectiveConfig): the “reported” side is the stored version whose rendering has the hash it reports.'}
        </Missing>
      )}
    </Card>
  );
}
