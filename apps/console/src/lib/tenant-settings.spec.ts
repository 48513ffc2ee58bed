import { settingsForm, settingsUpdate } from './tenant-settings';

const current = { agentRetentionDays: 7, requireAgentCredentials: false, agentCredentialLifetimeDays: 0, credentialSwitchGraceHours: 168 };

describe('settingsUpdate', () => {
  it('is empty when nothing changed', () => {
    expect(settingsUpdate(current, settingsForm(current))).toEqual({});
  });

  it('carries only what the operator changed', () => {
    const form = { ...settingsForm(current), requireAgentCredentials: true, credentialSwitchGraceHours: ' 24 ' };
    expect(settingsUpdate(current, form)).toEqual({ requireAgentCredentials: true, credentialSwitchGraceHours: 24 });
  });

  it.each([
    [{ agentRetentionDays: '-1' }, /Agent retention \(days\): a whole number from 0 to 3650/],
    [{ agentCredentialLifetimeDays: '3651' }, /Credential lifetime \(days\): a whole number from 0 to 3650/],
    [{ credentialSwitchGraceHours: '0' }, /Switch grace \(hours\): a whole number from 1 to 8760/],
    [{ credentialSwitchGraceHours: '' }, /Switch grace/],
    [{ agentRetentionDays: '1.5' }, /Agent retention/],
  ])('refuses %j', (over, message) => expect(() => settingsUpdate(current, { ...settingsForm(current), ...over })).toThrow(message));
});
