/**
 * How an agent's health reads in the console: the API's health (unknown while
 * the agent is disconnected), else what it last reported, marked "last known".
 */
import type { HealthState } from './types';

export interface HealthView {
  tone: 'ok' | 'bad' | 'muted';
  text: string;
}

export function healthView(health: HealthState, lastKnown?: HealthState): HealthView {
  if (health === 'HEALTH_STATE_HEALTHY') return { tone: 'ok', text: 'healthy' };
  if (health === 'HEALTH_STATE_UNHEALTHY') return { tone: 'bad', text: 'unhealthy' };
  if (lastKnown === 'HEALTH_STATE_HEALTHY') return { tone: 'muted', text: 'last known: healthy' };
  if (lastKnown === 'HEALTH_STATE_UNHEALTHY') return { tone: 'muted', text: 'last known: unhealthy' };
  return { tone: 'muted', text: 'unknown' };
}
