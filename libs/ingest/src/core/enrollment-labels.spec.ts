import { testUid } from '../testing/factories';
import { newAgentState } from './agent-state';
import { mergeEnrollmentLabels, withEnrollmentLabels } from './enrollment-labels';

describe('mergeEnrollmentLabels', () => {
  it('adds the enrollment labels to the attribute-derived ones, winning on the same key, keys sorted', () => {
    const merged = mergeEnrollmentLabels({ 'service.name': 'otelcol', env: 'dev' }, { env: 'prod', team: 'obs' });
    expect(merged).toEqual({ env: 'prod', 'service.name': 'otelcol', team: 'obs' });
    expect(Object.keys(merged)).toEqual(['env', 'service.name', 'team']);
  });

  it('is the attribute labels when the token has none', () => {
    expect(mergeEnrollmentLabels({ env: 'dev' }, {})).toEqual({ env: 'dev' });
  });
});

describe('withEnrollmentLabels', () => {
  it('keeps the token\'s labels in the state and reports whether the labels changed', () => {
    const s = newAgentState('t', testUid(1));
    s.labels = { env: 'dev', 'service.name': 'otelcol' };
    expect(withEnrollmentLabels(s, { env: 'prod' }, { env: 'dev', 'service.name': 'otelcol' })).toBe(true);
    expect(s.enrollmentLabels).toEqual({ env: 'prod' });
    expect(s.labels).toEqual({ env: 'prod', 'service.name': 'otelcol' });
    // The same token again (a rotation to the agent's own credential issued by it): nothing changes.
    expect(withEnrollmentLabels(s, { env: 'prod' }, { env: 'dev', 'service.name': 'otelcol' })).toBe(false);
    // A credential without labels: back to the attributes' own.
    expect(withEnrollmentLabels(s, {}, { env: 'dev', 'service.name': 'otelcol' })).toBe(true);
    expect(s.labels).toEqual({ env: 'dev', 'service.name': 'otelcol' });
    expect(s.enrollmentLabels).toEqual({});
  });
});
