/**
 * The tenant settings form: what the operator changed becomes the update
 * (UpdateTenantSettings changes only the fields it carries), checked against
 * the server's ranges first.
 */
import type { TenantSettings } from './types';

export interface SettingsForm {
  agentRetentionDays: string;
  requireAgentCredentials: boolean;
  agentCredentialLifetimeDays: string;
  credentialSwitchGraceHours: string;
}

const RANGES = {
  agentRetentionDays: [0, 3650, 'Agent retention (days)'],
  agentCredentialLifetimeDays: [0, 3650, 'Credential lifetime (days)'],
  credentialSwitchGraceHours: [1, 8760, 'Switch grace (hours)'],
} as const;

export function settingsForm(s: TenantSettings): SettingsForm {
  return {
    agentRetentionDays: String(s.agentRetentionDays),
    requireAgentCredentials: s.requireAgentCredentials,
    agentCredentialLifetimeDays: String(s.agentCredentialLifetimeDays),
    credentialSwitchGraceHours: String(s.credentialSwitchGraceHours),
  };
}

/** The fields that differ from `current`; throws with the field at fault. Empty: nothing to save. */
export function settingsUpdate(current: TenantSettings, form: SettingsForm): Partial<TenantSettings> {
  const update: Partial<TenantSettings> = {};
  for (const key of Object.keys(RANGES) as Array<keyof typeof RANGES>) {
    const [min, max, label] = RANGES[key];
    const text = form[key].trim();
    const n = Number(text);
    if (text === '' || !Number.isInteger(n) || n < min || n > max) throw new Error(`${label}: a whole number from ${min} to ${max}`);
    if (n !== current[key]) update[key] = n;
  }
  if (form.requireAgentCredentials !== current.requireAgentCredentials) update.requireAgentCredentials = form.requireAgentCredentials;
  return update;
}
