import { assignmentSelectorGate } from './assignment-form';

describe('assignment form', () => {
  it('does not save an empty selector (every agent) unless "all agents" is chosen', () => {
    expect(assignmentSelectorGate('', false)).toEqual({ ok: false, reason: expect.stringContaining('matches every agent') });
    expect(assignmentSelectorGate('   ', false).ok).toBe(false);
    expect(assignmentSelectorGate('', true)).toEqual({ ok: true, reason: 'No selector: this assignment selects every agent.' });
    expect(assignmentSelectorGate('env=prod', false)).toEqual({ ok: true, reason: '' });
  });
});
