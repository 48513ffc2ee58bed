import { DesiredStateError } from './errors';
import { formatSelector, matchesSelector, parseSelector, parseSelectorArgument, SelectorParseError, selectorToSql } from './selector';

const labels = { env: 'prod', region: 'eu', 'service.name': 'checkout', 'k8s.io/zone': 'a-1', empty: '' };
const m = (s: string, l: Record<string, string> = labels) => matchesSelector(parseSelector(s), l);

describe('label selectors', () => {
  it('parses every operator', () => {
    expect(parseSelector(' env = prod , tier!=db, region in (eu, us) ,team notin(a,b), service.name, !canary, x==y').requirements).toEqual([
      { op: 'eq', key: 'env', value: 'prod' },
      { op: 'neq', key: 'tier', value: 'db' },
      { op: 'in', key: 'region', values: ['eu', 'us'] },
      { op: 'notin', key: 'team', values: ['a', 'b'] },
      { op: 'exists', key: 'service.name' },
      { op: 'notexists', key: 'canary' },
      { op: 'eq', key: 'x', value: 'y' },
    ]);
  });

  it('empty selector matches everything', () => {
    expect(parseSelector('').requirements).toEqual([]);
    expect(parseSelector('   ').requirements).toEqual([]);
    expect(m('')).toBe(true);
    expect(m('', {})).toBe(true);
  });

  it('equality and inequality (inequality matches a missing label)', () => {
    expect(m('env=prod')).toBe(true);
    expect(m('env=dev')).toBe(false);
    expect(m('missing=x')).toBe(false);
    expect(m('env!=dev')).toBe(true);
    expect(m('env!=prod')).toBe(false);
    expect(m('missing!=x')).toBe(true);
    expect(m('empty=')).toBe(true);
    expect(m('empty=""')).toBe(true);
  });

  it('set-based (notin matches a missing label)', () => {
    expect(m('region in (us, eu)')).toBe(true);
    expect(m('region in (us)')).toBe(false);
    expect(m('missing in (x)')).toBe(false);
    expect(m('region notin (us)')).toBe(true);
    expect(m('region notin (eu)')).toBe(false);
    expect(m('missing notin (x)')).toBe(true);
    expect(parseSelector('a in (x, x, y)').requirements[0]).toEqual({ op: 'in', key: 'a', values: ['x', 'y'] });
  });

  it('exists and not exists; requirements are ANDed', () => {
    expect(m('service.name')).toBe(true);
    expect(m('!service.name')).toBe(false);
    expect(m('!canary')).toBe(true);
    expect(m('env=prod,region=eu')).toBe(true);
    expect(m('env=prod,region=us')).toBe(false);
    expect(m('k8s.io/zone=a-1')).toBe(true);
  });

  it('quoted values carry spaces, commas and escapes', () => {
    const l = { team: 'a, b (c)', q: 'say "hi" \\' };
    expect(m('team="a, b (c)"', l)).toBe(true);
    expect(m('q="say \\"hi\\" \\\\"', l)).toBe(true);
    expect(m('team in ("a, b (c)", x)', l)).toBe(true);
  });

  it('does not treat a key prefix as a key (no prototype leaks)', () => {
    expect(m('toString')).toBe(false);
    expect(m('constructor!=x')).toBe(true);
  });

  it.each([
    ['=prod', /column 1: expected a label key, found '='/],
    ['env prod', /column 5: expected an operator .* after key 'env', found 'p'/],
    ['env=prod,', /column 10: expected a requirement after ','/],
    ['env=prod;x', /column 9: expected ',' or end of selector, found ';'/],
    ['env in eu', /column 8: expected '\(' after 'in'/],
    ['env in (eu', /column 11: expected ',' or '\)' in value list, found end of selector/],
    ['env="open', /column 5: expected a closing '"'/],
    ['env="a\\n"', /column 8: expected '"' or '\\' after a backslash, found 'n'/],
    ['env!prod', /column 5: expected '=' after '!'/],
    ['!', /column 2: expected a label key, found end of selector/],
    ['a b c', /column 3: expected an operator/],
  ])('rejects %j with a clear message', (text, message) => {
    expect(() => parseSelector(text)).toThrow(SelectorParseError);
    expect(() => parseSelector(text)).toThrow(message);
  });

  it('rejects overlong selectors', () => {
    expect(() => parseSelector('a=' + 'x'.repeat(5000))).toThrow(/longer than 4096/);
  });

  it('parseSelectorArgument maps to INVALID_ARGUMENT with the field', () => {
    const bad = () => parseSelectorArgument('=', 'assignment.selector');
    expect(bad).toThrow(DesiredStateError);
    expect(bad).toThrow(/^assignment.selector: invalid label selector at column 1/);
    expect(bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('formats canonically and round-trips', () => {
    const text = 'env = prod, tier != "a b", region in (eu,us), x notin (in), y, !z';
    const formatted = formatSelector(parseSelector(text));
    expect(formatted).toBe('env=prod,tier!="a b",region in (eu, us),x notin ("in"),y,!z');
    expect(parseSelector(formatted)).toEqual(parseSelector(text));
    expect(formatSelector(parseSelector('a=""'))).toBe('a=""');
  });

  it('translates to SQL with numbered parameters', () => {
    const { sql, params } = selectorToSql(parseSelector('env=prod,r in (a,b),t notin (c),x,!y,z!=1'), 'a.labels', 2);
    expect(sql).toBe(
      '(a.labels @> $3::jsonb) AND ((a.labels ->> $4) = ANY($5::text[])) AND (NOT coalesce((a.labels ->> $6) = ANY($7::text[]), false)) AND (a.labels ? $8) AND (NOT (a.labels ? $9)) AND (NOT (a.labels @> $10::jsonb))',
    );
    expect(params).toEqual(['{"env":"prod"}', 'r', ['a', 'b'], 't', ['c'], 'x', 'y', '{"z":"1"}']);
    expect(selectorToSql(parseSelector(''), 'labels', 0)).toEqual({ sql: 'TRUE', params: [] });
  });
});
