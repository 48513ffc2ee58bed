import { filterFromSearch, filterToSearch, isFiltered, listAgentsQuery } from './agent-query';

describe('agent filter', () => {
  it('round-trips through the page URL', () => {
    const f = { selector: 'env=prod,region in (eu,us)', connected: true, healthy: false, inSync: undefined, statuses: ['REMOTE_CONFIG_STATUS_FAILED' as const] };
    const search = filterToSearch(f);
    expect(search).toBe('?selector=env%3Dprod%2Cregion+in+%28eu%2Cus%29&connected=true&healthy=false&status=failed');
    expect(filterFromSearch(search)).toEqual(f);
    expect(filterToSearch(filterFromSearch(''))).toBe('');
  });

  it('ignores unknown values in the URL', () => {
    expect(filterFromSearch('?connected=maybe&status=failed,bogus,failed')).toEqual({
      selector: '',
      connected: undefined,
      healthy: undefined,
      inSync: undefined,
      statuses: ['REMOTE_CONFIG_STATUS_FAILED'],
    });
  });

  it('becomes ListAgents query parameters', () => {
    expect(listAgentsQuery({ selector: ' env=prod ', inSync: false, statuses: ['REMOTE_CONFIG_STATUS_APPLIED', 'REMOTE_CONFIG_STATUS_FAILED'] }, 50, 'tok')).toEqual({
      pageSize: '50',
      selector: 'env=prod',
      inSync: 'false',
      configStatuses: 'REMOTE_CONFIG_STATUS_APPLIED,REMOTE_CONFIG_STATUS_FAILED',
      pageToken: 'tok',
    });
    expect(isFiltered({ selector: '', statuses: [] })).toBe(false);
    expect(isFiltered({ selector: '', healthy: true, statuses: [] })).toBe(true);
  });
});
