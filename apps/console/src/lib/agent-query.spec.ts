import { filterFromSearch, filterToSearch, isFiltered, listAgentsQuery, nextSort } from './agent-query';

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

  it('keeps credential states in the URL (lower case) and sends them as credentialState', () => {
    const f = { selector: '', statuses: [], credentialStates: ['NONE' as const, 'OFFERED' as const] };
    expect(filterToSearch(f)).toBe('?credential=none%2Coffered');
    expect(filterFromSearch('?credential=none,offered,bogus,none')).toEqual(f);
    expect(filterFromSearch('?credential=bogus').credentialStates).toBeUndefined();
    expect(listAgentsQuery(f, 25)).toEqual({ pageSize: '25', credentialState: 'NONE,OFFERED' });
    expect(isFiltered(f)).toBe(true);
    expect(isFiltered({ selector: '', statuses: [], credentialStates: [] })).toBe(false);
  });

  it('keeps the sort order in the URL and sends it as orderBy', () => {
    const f = { selector: '', statuses: [], sort: { key: 'last_seen' as const, direction: 'desc' as const } };
    expect(filterToSearch(f)).toBe('?sort=-last_seen');
    expect(filterFromSearch('?sort=-last_seen')).toEqual(f);
    expect(filterFromSearch('?sort=health').sort).toEqual({ key: 'health', direction: 'asc' });
    expect(filterFromSearch('?sort=labels').sort).toBeUndefined();
    expect(listAgentsQuery(f, 25, 'tok')).toEqual({ pageSize: '25', orderBy: 'last_seen desc', pageToken: 'tok' });
    expect(isFiltered(f)).toBe(false);
  });

  it('cycles a column header through its first direction, the other, and the default order', () => {
    expect(nextSort(undefined, 'health')).toEqual({ key: 'health', direction: 'asc' });
    expect(nextSort({ key: 'health', direction: 'asc' }, 'health')).toEqual({ key: 'health', direction: 'desc' });
    expect(nextSort({ key: 'health', direction: 'desc' }, 'health')).toBeUndefined();
    expect(nextSort(undefined, 'last_seen')).toEqual({ key: 'last_seen', direction: 'desc' });
    expect(nextSort({ key: 'last_seen', direction: 'desc' }, 'last_seen')).toEqual({ key: 'last_seen', direction: 'asc' });
    expect(nextSort({ key: 'last_seen', direction: 'desc' }, 'service_name')).toEqual({ key: 'service_name', direction: 'asc' });
  });

  it('keeps the certificate expiry window in the URL and sends it as certificateExpiresWithinDays', () => {
    const f = { selector: '', statuses: [], certificateExpiresWithinDays: 7 };
    expect(filterToSearch(f)).toBe('?certExpires=7');
    expect(filterFromSearch('?certExpires=7').certificateExpiresWithinDays).toBe(7);
    expect(filterFromSearch('?certExpires=0').certificateExpiresWithinDays).toBeUndefined();
    expect(filterFromSearch('?certExpires=x').certificateExpiresWithinDays).toBeUndefined();
    expect(listAgentsQuery(f, 25)).toEqual({ pageSize: '25', certificateExpiresWithinDays: '7' });
    expect(isFiltered(f)).toBe(true);
  });
});
