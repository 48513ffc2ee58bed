import { orderAssignments, resolveAssignment, type Assignment } from './assignment';
import { parseSelector } from './selector';

const a = (name: string, selector: string, priority: number): Assignment => ({
  name,
  configurationName: `cfg-${name}`,
  pinnedVersion: null,
  selector: parseSelector(selector),
  selectorText: selector,
  priority,
});

describe('assignment resolution', () => {
  const all = [a('base', '', 0), a('prod', 'env=prod', 10), a('eu-prod', 'env=prod,region=eu', 20), a('b-tie', 'team=x', 10), a('a-tie', 'team=x', 10)];
  const ordered = orderAssignments(all);

  it('highest priority match wins', () => {
    expect(resolveAssignment(ordered, { env: 'prod', region: 'eu' })?.name).toBe('eu-prod');
    expect(resolveAssignment(ordered, { env: 'prod', region: 'us' })?.name).toBe('prod');
    expect(resolveAssignment(ordered, { env: 'dev' })?.name).toBe('base');
  });

  it('ties are broken by name, whatever the input order', () => {
    expect(resolveAssignment(ordered, { team: 'x' })?.name).toBe('a-tie');
    expect(resolveAssignment(orderAssignments([...all].reverse()), { team: 'x' })?.name).toBe('a-tie');
  });

  it('no match gives null; negative priorities sort last', () => {
    expect(resolveAssignment(orderAssignments([a('p', 'env=prod', 1)]), { env: 'dev' })).toBeNull();
    expect(orderAssignments([a('neg', '', -5), a('zero', '', 0)]).map((x) => x.name)).toEqual(['zero', 'neg']);
  });
});
