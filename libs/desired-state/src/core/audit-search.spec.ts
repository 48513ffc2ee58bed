import { DesiredStateError } from './errors';
import { auditSearchPatterns } from './audit-search';

describe('auditSearchPatterns', () => {
  it('makes one ILIKE pattern per word', () => {
    expect(auditSearchPatterns('')).toEqual([]);
    expect(auditSearchPatterns('  agent.restart   prod ')).toEqual(['%agent.restart%', '%prod%']);
  });

  it('escapes LIKE wildcards so they match themselves', () => {
    expect(auditSearchPatterns('50% a_b c\\d')).toEqual(['%50\\%%', '%a\\_b%', '%c\\\\d%']);
  });

  it('refuses an overlong query', () => {
    expect(() => auditSearchPatterns('x'.repeat(201))).toThrow(new DesiredStateError('INVALID_ARGUMENT', 'query is limited to 200 characters'));
  });
});
