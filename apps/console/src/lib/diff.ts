/**
 * Line diffs for configuration files (versions against each other, desired
 * against reported). Longest common subsequence over lines, after trimming the
 * common head and tail, so typical edits of large files stay cheap.
 */
export type DiffKind = 'same' | 'add' | 'del';

export interface DiffLine {
  kind: DiffKind;
  text: string;
  /** 1-based line in the old text (same, del). */
  oldLine?: number;
  /** 1-based line in the new text (same, add). */
  newLine?: number;
}

/** Above this many cells of the LCS table the middle is shown as removed then added. */
const MAX_CELLS = 4_000_000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function diffLines(oldText: string, newText: string): DiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;

  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) out.push({ kind: 'same', text: a[i], oldLine: i + 1, newLine: i + 1 });

  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_CELLS) {
    am.forEach((text, i) => out.push({ kind: 'del', text, oldLine: head + i + 1 }));
    bm.forEach((text, j) => out.push({ kind: 'add', text, newLine: head + j + 1 }));
  } else if (n > 0 || m > 0) {
    // lcs[i][j] = LCS length of am[i..] and bm[j..], in one flat array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = am[i] === bm[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ kind: 'same', text: am[i], oldLine: head + i + 1, newLine: head + j + 1 });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
        // Removals before additions, as unified diffs show them.
        out.push({ kind: 'del', text: am[i], oldLine: head + i + 1 });
        i++;
      } else {
        out.push({ kind: 'add', text: bm[j], newLine: head + j + 1 });
        j++;
      }
    }
  }
  for (let k = tail; k > 0; k--) {
    out.push({ kind: 'same', text: a[a.length - k], oldLine: a.length - k + 1, newLine: b.length - k + 1 });
  }
  return out;
}

export interface FileDiff {
  name: string;
  status: 'added' | 'removed' | 'changed' | 'unchanged';
  lines: DiffLine[];
  added: number;
  removed: number;
}

/** Diffs two sets of files by name (bodies only), names in sorted order. */
export function diffFiles(oldFiles: Record<string, { body: string }>, newFiles: Record<string, { body: string }>): FileDiff[] {
  const names = [...new Set([...Object.keys(oldFiles), ...Object.keys(newFiles)])].sort();
  return names.map((name) => {
    const before = oldFiles[name];
    const after = newFiles[name];
    const lines = diffLines(before?.body ?? '', after?.body ?? '');
    const added = lines.filter((l) => l.kind === 'add').length;
    const removed = lines.filter((l) => l.kind === 'del').length;
    const status = !before ? 'added' : !after ? 'removed' : added + removed === 0 ? 'unchanged' : 'changed';
    return { name, status, lines, added, removed };
  });
}

export interface Hunk {
  lines: DiffLine[];
  /** Lines of unchanged context left out before this hunk. */
  skippedBefore: number;
}

/** Groups a diff into hunks with `context` unchanged lines around each change. */
export function hunks(lines: DiffLine[], context = 3): Hunk[] {
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out: Hunk[] = [];
  let skipped = 0;
  let current: Hunk | null = null;
  lines.forEach((l, i) => {
    if (!keep[i]) {
      skipped++;
      current = null;
      return;
    }
    if (!current) {
      current = { lines: [], skippedBefore: skipped };
      out.push(current);
      skipped = 0;
    }
    current.lines.push(l);
  });
  return out;
}
