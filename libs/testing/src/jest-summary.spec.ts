/*
 * The test command's closing total (scripts/jest-summary.js, fed by the
 * reporter scripts/jest-result-file.js): a skipped or todo test must fail the
 * run, and be named, or a switched-off test reads as green.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const summary = join(root, 'scripts/jest-summary.js');
const ResultFileReporter = require(join(root, 'scripts/jest-result-file.js'));

function runSummary(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [summary, dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout };
}

function results(statuses: string[]) {
  const count = (s: string) => statuses.filter((x) => x === s).length;
  return {
    numPassedTests: count('passed'),
    numFailedTests: count('failed'),
    numPendingTests: count('pending'),
    numTodoTests: count('todo'),
    numRuntimeErrorTestSuites: 0,
    numTotalTests: statuses.length,
    testResults: [{ testFilePath: '/repo/libs/x/src/a.spec.ts', testResults: statuses.map((status, i) => ({ status, fullName: `case ${i}` })) }],
  };
}

describe('jest-summary', () => {
  let dir: string;
  const saved = process.env['OPAMP_JEST_RESULTS_DIR'];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jest-summary-'));
    process.env['OPAMP_JEST_RESULTS_DIR'] = dir;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env['OPAMP_JEST_RESULTS_DIR'];
    else process.env['OPAMP_JEST_RESULTS_DIR'] = saved;
  });

  function report(statuses: string[]): void {
    new ResultFileReporter({ rootDir: '/repo' }).onRunComplete(new Set(), results(statuses));
  }

  it('passes a run where every test ran and passed', () => {
    report(['passed', 'passed']);
    expect(runSummary(dir)).toEqual({ status: 0, out: 'tests: 2 passed, 0 failed, 0 skipped, 0 todo\n' });
  });

  it('fails a run with a skipped test and names it', () => {
    report(['passed', 'pending']);
    const r = runSummary(dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('not run: libs/x/src/a.spec.ts: case 1 (pending)');
    expect(r.out).toContain('tests: 1 passed, 0 failed, 1 skipped, 0 todo');
  });

  it('fails a run with a todo test', () => {
    report(['passed', 'todo']);
    const r = runSummary(dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('case 1 (todo)');
  });

  it('adds up the files of several projects', () => {
    report(['passed']);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ numPassedTests: 3, numFailedTests: 1, numRuntimeErrorTestSuites: 0, numPendingTests: 0, numTodoTests: 0 }));
    expect(readdirSync(dir)).toHaveLength(2);
    const r = runSummary(dir);
    expect(r.status).toBe(1);
    expect(r.out).toBe('tests: 4 passed, 1 failed, 0 skipped, 0 todo\n');
  });

  it('fails when nothing ran at all', () => {
    expect(readdirSync(dir)).toEqual([]);
    expect(runSummary(dir).status).toBe(1);
  });
});
