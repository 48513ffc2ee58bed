import { healthView } from './health-view';

describe('healthView', () => {
  it('shows the health of a connected agent as it is', () => {
    expect(healthView('HEALTH_STATE_HEALTHY', 'HEALTH_STATE_HEALTHY')).toEqual({ tone: 'ok', text: 'healthy' });
    expect(healthView('HEALTH_STATE_UNHEALTHY', 'HEALTH_STATE_UNHEALTHY')).toEqual({ tone: 'bad', text: 'unhealthy' });
  });

  it('shows a disconnected agent (health unknown) with its last report, never as healthy', () => {
    expect(healthView('HEALTH_STATE_UNKNOWN', 'HEALTH_STATE_HEALTHY')).toEqual({ tone: 'muted', text: 'last known: healthy' });
    expect(healthView('HEALTH_STATE_UNKNOWN', 'HEALTH_STATE_UNHEALTHY')).toEqual({ tone: 'muted', text: 'last known: unhealthy' });
    expect(healthView('HEALTH_STATE_UNKNOWN', 'HEALTH_STATE_UNKNOWN')).toEqual({ tone: 'muted', text: 'unknown' });
    // A server without the field.
    expect(healthView('HEALTH_STATE_UNKNOWN')).toEqual({ tone: 'muted', text: 'unknown' });
  });
});
