import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadmeShell } from './readme-shell';

describe('ReadmeShell', () => {
  let dir: string;
  let shell: ReadmeShell;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'readme-shell-'));
    shell = new ReadmeShell(dir, { PATH: '/usr/bin:/bin' }, 10_000);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands the variables a block sets on to the next block, as one terminal would', async () => {
    expect(await shell.run('API=http://x/api\nTOKEN=$(echo "a b")\n')).toMatchObject({ code: 0 });
    expect(await shell.run('API=$API/v1\necho "$API|$TOKEN"\n')).toMatchObject({ code: 0, stdout: 'http://x/api/v1|a b\n' });
    expect(await shell.run('echo "$API"\n')).toMatchObject({ code: 0, stdout: 'http://x/api/v1\n' });
  });

  it('fails a block on its first failing command, on an unset variable, and in a pipeline', async () => {
    expect(await shell.run('false\necho reached\n')).toMatchObject({ code: 1, stdout: '' });
    expect((await shell.run('echo "$NOT_SET"\n')).code).not.toBe(0);
    expect((await shell.run('false | cat\n')).code).not.toBe(0);
  });

  it('runs in its directory', async () => {
    expect(await shell.run('pwd\n')).toMatchObject({ code: 0, stdout: `${dir}\n` });
  });
});
