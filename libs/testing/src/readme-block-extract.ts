/**
 * The fenced code blocks of a README, in order, for a test that runs its shell
 * examples as printed. Pure: text in, blocks out.
 *
 * Conventions the README follows (and shows its readers):
 * - `<!-- readme-test: skip <reason> -->` on its own line right before a shell
 *   block (blank lines between are allowed) keeps the test from running it;
 *   the reason is kept, so the test can insist that every skip has one.
 * - A comment line `# => <text>` in a shell block documents output: what the
 *   commands above it (since the previous `# =>` lines) print contains `<text>`.
 * - A YAML block whose first line is `# <file name>` stands for that file.
 */

/** Commands of a shell block and the output they document (the `# =>` lines right after them). */
export interface ReadmeStep {
  readonly script: string;
  readonly expects: readonly string[];
}

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** First word of the fence's info string ('' for none), lowercased. */
  readonly lang: string;
  /** The lines between the fences, each ending in a newline. */
  readonly body: string;
  /** null when the block is to run; else the marker's reason ('' when it gave none). */
  readonly skipReason: string | null;
  /** A shell block cut after each run of `# =>` lines, in order; [] for other blocks. */
  readonly steps: readonly ReadmeStep[];
  /** For a YAML block that starts with `# <name>.yaml`: that name. */
  readonly fileName: string | null;
}

export const SHELL_LANGS: readonly string[] = ['sh', 'bash'];

const FENCE = /^```(.*)$/;
const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;
const EXPECT = /^\s*# => (.+?)\s*$/;
const FILE_NAME = /^#\s*([\w.-]+\.ya?ml)\b/;

export function isShellBlock(block: ReadmeBlock): boolean {
  return SHELL_LANGS.includes(block.lang);
}

export function extractReadmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let pendingSkip: { reason: string; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    const marker = MARKER.exec(text);
    if (marker) {
      if (pendingSkip) throw new Error(`line ${i + 1}: a readme-test marker follows the one of line ${pendingSkip.line} before any code block`);
      const [directive, ...rest] = marker[1].split(/\s+/);
      if (directive !== 'skip') throw new Error(`line ${i + 1}: unknown readme-test directive '${directive}' (known: skip <reason>)`);
      pendingSkip = { reason: rest.join(' '), line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      if (pendingSkip && text.trim() !== '') throw new Error(`line ${pendingSkip.line}: a readme-test marker must stand right before a code block`);
      continue;
    }
    const lang = (fence[1].trim().split(/\s+/)[0] ?? '').toLowerCase();
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`line ${start + 1}: code block never closed`);
    const block: ReadmeBlock = {
      line: start + 1,
      lang,
      body: body.map((l) => l + '\n').join(''),
      skipReason: pendingSkip ? pendingSkip.reason : null,
      steps: SHELL_LANGS.includes(lang) ? stepsOf(body) : [],
      fileName: lang === 'yaml' || lang === 'yml' ? (FILE_NAME.exec(body[0] ?? '')?.[1] ?? null) : null,
    };
    if (pendingSkip && !isShellBlock(block)) throw new Error(`line ${pendingSkip.line}: only shell blocks can be skipped (this one is '${lang}')`);
    pendingSkip = null;
    blocks.push(block);
  }
  if (pendingSkip) throw new Error(`line ${pendingSkip.line}: a readme-test marker must stand right before a code block`);
  return blocks;
}

function stepsOf(lines: readonly string[]): ReadmeStep[] {
  const steps: ReadmeStep[] = [];
  let script: string[] = [];
  let expects: string[] = [];
  const close = () => {
    if (script.some((l) => l.trim() !== '') || expects.length > 0) steps.push({ script: script.map((l) => l + '\n').join(''), expects });
    script = [];
    expects = [];
  };
  for (const line of lines) {
    const expect = EXPECT.exec(line);
    if (expect) {
      expects.push(expect[1]);
      continue;
    }
    if (expects.length > 0) close();
    script.push(line);
  }
  close();
  return steps;
}

/**
 * Replaces each placeholder (exact text, every occurrence) by its value, in
 * order; the README documents its placeholders (default addresses, data directory).
 */
export function substitutePlaceholders(body: string, placeholders: ReadonlyArray<readonly [string, string]>): string {
  return placeholders.reduce((text, [from, to]) => text.split(from).join(to), body);
}
