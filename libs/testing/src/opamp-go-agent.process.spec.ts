import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opampGoAgentSourceHash } from './opamp-go-agent.process';

describe('opampGoAgentSourceHash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'goagent-hash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('changes with a source file, go.mod, go.sum or the Go version, and with nothing else', () => {
    writeFileSync(join(dir, 'main.go'), 'package main\n');
    writeFileSync(join(dir, 'go.mod'), 'module x\n');
    const first = opampGoAgentSourceHash(dir, 'go1.26.8');
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    writeFileSync(join(dir, 'notes.txt'), 'not a source\n');
    expect(opampGoAgentSourceHash(dir, 'go1.26.8')).toBe(first);
    expect(opampGoAgentSourceHash(dir, 'go1.27.0')).not.toBe(first);
    writeFileSync(join(dir, 'main.go'), 'package main // changed\n');
    const edited = opampGoAgentSourceHash(dir, 'go1.26.8');
    expect(edited).not.toBe(first);
    writeFileSync(join(dir, 'go.sum'), 'x v1 h1:abc\n');
    expect(opampGoAgentSourceHash(dir, 'go1.26.8')).not.toBe(edited);
  });
});
