/**
 * Owns the exclusive use of an embedded data directory: a `<dir>.lock` file
 * beside it holding the owner's pid, created exclusively. A lock whose pid is
 * no longer running (a crash, a kill -9) is stale and taken over; a live one,
 * this process included, refuses the open with the pid that holds it.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLock {
  private released = false;

  private constructor(readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    const file = `${resolve(dataDir)}.lock`;
    mkdirSync(dirname(file), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new Error(`data directory ${resolve(dataDir)} is in use by process ${holder} (lock ${file}); stop it first`);
      }
      unlinkSync(file); // stale: its process is gone
    }
    throw new Error(`data directory ${resolve(dataDir)}: could not take the lock ${file}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.file);
    } catch {
      // already gone: nothing to release
    }
  }
}
