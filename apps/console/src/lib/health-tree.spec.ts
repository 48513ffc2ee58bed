import { healthCounts, sortedChildren, startsOpen } from './health-tree';
import type { ComponentHealth } from './types';

function node(healthy: boolean, children: Record<string, ComponentHealth> = {}, status = ''): ComponentHealth {
  return { healthy, status, lastError: '', startTime: '', statusTime: '', attributes: {}, children };
}

describe('health tree', () => {
  const tree = node(false, {
    'pipeline:traces': node(true, { 'receiver:otlp': node(true) }),
    'pipeline:logs': node(false, { 'exporter:otlphttp': node(false), 'receiver:filelog': node(true) }),
  });

  it('counts components and unhealthy ones, the root included', () => {
    expect(healthCounts(tree)).toEqual({ components: 6, unhealthy: 3 });
    expect(healthCounts(node(true))).toEqual({ components: 1, unhealthy: 0 });
  });

  it('lists the unhealthy children first, then by name', () => {
    expect(sortedChildren(tree).map(([n]) => n)).toEqual(['pipeline:logs', 'pipeline:traces']);
    expect(sortedChildren(tree.children['pipeline:logs']).map(([n]) => n)).toEqual(['exporter:otlphttp', 'receiver:filelog']);
  });

  it('opens the root and the branches with problems', () => {
    expect(startsOpen(tree, 0)).toBe(true);
    expect(startsOpen(tree.children['pipeline:logs'], 1)).toBe(true);
    expect(startsOpen(tree.children['pipeline:traces'], 1)).toBe(false);
    expect(startsOpen(node(false), 0)).toBe(false);
  });
});
