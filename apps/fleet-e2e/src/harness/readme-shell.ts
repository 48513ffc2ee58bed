/**
 * Runs README shell blocks the way a reader pastes them into one terminal:
 * one after the other, each seeing the variables the earlier ones set. Each
 * block is its own `bash` (so it has its own exit code and output), strict
 * (`set -euo pipefail`: a failing command fails the block), and hands the
 * variables it set on to the next through a state file.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ShellResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class ReadmeShell {
  private readonly stateFile: string;

  /** `dir` is the working directory of every block and holds the state file. */
  constructor(
    private readonly dir: string,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly timeoutMs: number,
  ) {
    this.stateFile = join(dir, '.readme-shell-state');
    writeFileSync(this.stateFile, '');
  }

  run(body: string): Promise<ShellResult> {
    // The names the shell starts with are not the block's; whatever else is set after it is.
    const script = [
      '__readme_baseline=" $(compgen -v | tr "\\n" " ") "',
      `source ${JSON.stringify(this.stateFile)}`,
      'set -euo pipefail',
      body,
      'set +u',
      `for __readme_v in $(compgen -v); do case "$__readme_baseline" in *" $__readme_v "*) ;; *) [[ $__readme_v == __readme_* ]] || declare -p "$__readme_v" ;; esac; done > ${JSON.stringify(this.stateFile)}`,
    ].join('\n');
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd: this.dir, env: { ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }
}
