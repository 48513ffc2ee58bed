/**
 * `npm start`'s decisions (scripts/start.sh --plan on a copy of the script in
 * a small workspace of its own): install when node_modules is missing or older
 * than the lockfile; rebuild when a build input changed in content, when an
 * output is missing, or when another build wrote dist/ after the last one;
 * otherwise start what is built.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { workspaceRoot } from '@opamp/testing';

const files: Record<string, string> = {
  'package.json': '{"name":"x"}\n',
  'package-lock.json': '{"lockfileVersion":3}\n',
  'tsconfig.base.json': '{}\n',
  'apps/fleet-server/src/main.ts': 'export {};\n',
  'apps/console/src/main.tsx': 'export {};\n',
  'libs/store/src/index.ts': 'export const a = 1;\n',
  'libs/store/migrations/0001_init.sql': 'select 1;\n',
  'libs/contracts/src/generated/fleet.js': '// generated\n',
  'proto/fleet/v1/fleet_api.proto': 'syntax = "proto3";\n',
  'tools/runtime/finish-build.js': '// build tool\n',
};
const outputs = ['dist/out-tsc/apps/fleet-server/src/main.js', 'dist/out-tsc/register-aliases.js', 'dist/console/index.html'];

describe('npm start: install and build only when needed', () => {
  let root: string;
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const plan = (): { install: string; build: string } => {
    const out = execFileSync('bash', [join(root, 'scripts', 'start.sh'), '--plan'], { encoding: 'utf8' });
    const line = (key: string): string => (out.match(new RegExp(`^${key}: (.*)$`, 'm')) ?? [])[1] ?? `no ${key} line in: ${out}`;
    return { install: line('install'), build: line('build') };
  };
  /** What a successful build leaves: its outputs, then the stamp (as start.sh writes it). */
  const build = (): void => {
    for (const out of outputs) write(out, '// built\n');
    execFileSync('bash', [join(root, 'scripts', 'build-stamp.sh'), 'write', root]);
  };
  const installed = (): void => {
    write('node_modules/.package-lock.json', '{}\n');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'node_modules', '.package-lock.json'), later, later);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'opamp-start-'));
    for (const script of ['start.sh', 'build-stamp.sh']) {
      mkdirSync(join(root, 'scripts'), { recursive: true });
      copyFileSync(join(workspaceRoot(), 'scripts', script), join(root, 'scripts', script));
    }
    for (const [path, text] of Object.entries(files)) write(path, text);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a fresh clone installs and builds', () => {
    expect(plan()).toEqual({ install: 'no node_modules yet', build: 'stale: the packages are (re)installed first' });
    installed();
    expect(plan()).toEqual({ install: 'no', build: 'stale: dist/out-tsc/apps/fleet-server/src/main.js is missing' });
    for (const out of outputs) write(out, '// built by hand\n');
    expect(plan().build).toBe('stale: no build stamp');
  });

  it('an unchanged tree is not rebuilt, also when files were rewritten with the same content', () => {
    installed();
    build();
    expect(plan()).toEqual({ install: 'no', build: 'no (unchanged since the last build)' });
    const later = new Date(Date.now() + 120_000);
    utimesSync(join(root, 'libs/store/src/index.ts'), later, later);
    write('apps/fleet-server/src/main.ts', files['apps/fleet-server/src/main.ts']);
    // Generated code is derived from proto/: not an input of its own.
    write('libs/contracts/src/generated/fleet.js', '// generated again\n');
    expect(plan().build).toBe('no (unchanged since the last build)');
  });

  it.each([
    ['a lib source', 'libs/store/src/index.ts'],
    ['a migration', 'libs/store/migrations/0001_init.sql'],
    ['a .proto', 'proto/fleet/v1/fleet_api.proto'],
    ['the console', 'apps/console/src/main.tsx'],
    ['the build tool', 'tools/runtime/finish-build.js'],
    ['the base tsconfig', 'tsconfig.base.json'],
  ])('%s changed: rebuilt', (_what, path) => {
    installed();
    build();
    write(path, `${files[path]}// changed\n`);
    expect(plan().build).toBe('stale: sources changed since the last build');
    build();
    expect(plan().build).toBe('no (unchanged since the last build)');
  });

  it('a new source file is a change too', () => {
    installed();
    build();
    write('libs/store/src/extra.ts', 'export const b = 2;\n');
    expect(plan().build).toBe('stale: sources changed since the last build');
  });

  it('a changed lockfile reinstalls and rebuilds', () => {
    installed();
    build();
    write('package-lock.json', '{"lockfileVersion":3,"packages":{}}\n');
    const later = new Date(Date.now() + 600_000);
    utimesSync(join(root, 'package-lock.json'), later, later);
    expect(plan()).toEqual({ install: 'package-lock.json changed', build: 'stale: the packages are (re)installed first' });
  });

  it('another build that wrote dist/ after the stamp forces a rebuild', () => {
    installed();
    build();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, outputs[0]), later, later);
    expect(plan().build).toBe('stale: another build wrote dist/ after the last start\'s build');
  });
});
