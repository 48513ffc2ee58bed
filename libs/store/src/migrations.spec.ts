import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMigrationFiles, MIGRATIONS_DIR } from './migrations';

describe('migration files', () => {
  it('are found in order and only with the numbered naming', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    for (const f of ['0002_b.sql', '0001_a.sql', 'README.md', '3_bad.sql', '0010_c.sql']) writeFileSync(join(dir, f), '');
    expect(listMigrationFiles(dir)).toEqual(['0001_a.sql', '0002_b.sql', '0010_c.sql']);
  });

  it('ship with the library and start with the agents table', () => {
    const files = listMigrationFiles(MIGRATIONS_DIR);
    expect(files[0]).toBe('0001_agents.sql');
  });
});
