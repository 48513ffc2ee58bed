/**
 * The identity reconciler's decisions for a whole batch of agents, pure (the
 * reconciler turns them into a few multi-row statements, one directory write
 * and bounded concurrent pushes):
 * - which agent is activated (seen with the credential on offer), which is
 *   offered what it holds, which enrolls (on an enrollment or static token);
 * - which of the agents that enroll now a token still admits: its use limit
 *   is exact however many enroll at once, the first ones in the batch first;
 * - what follows an enrollment (refused, offered what it has, issued a new one).
 */

/** One agent's credential as the batch needs it. */
export interface LiveCredential {
  readonly id: string;
  readonly state: string;
}

export interface BatchAgent {
  /** uid hex (the key of `live`). */
  readonly key: string;
  /** The credential its connection was admitted with, and whether that is one of its own. */
  readonly credentialId: string;
  readonly ownCredential: boolean;
}

export type IdentityStep<A> =
  /** Seen with the credential on offer: it becomes the active one. */
  | { readonly step: 'activate'; readonly agent: A; readonly offered: LiveCredential }
  /** On its own credential: offered what it should hold (a rotation's new one, else the one it is on). */
  | { readonly step: 'offer'; readonly agent: A; readonly credential: LiveCredential }
  /** On a token: enrolled first. */
  | { readonly step: 'enroll'; readonly agent: A };

/** What each agent of the batch needs first; agents on an own credential that is not alive any more need nothing. */
export function planIdentityBatch<A extends BatchAgent>(agents: readonly A[], live: ReadonlyMap<string, readonly LiveCredential[]>): IdentityStep<A>[] {
  const steps: IdentityStep<A>[] = [];
  for (const agent of agents) {
    const creds = live.get(agent.key) ?? [];
    const offered = creds.find((c) => c.state === 'offered') ?? null;
    if (!agent.ownCredential) {
      steps.push({ step: 'enroll', agent });
      continue;
    }
    if (offered && offered.id === agent.credentialId) {
      steps.push({ step: 'activate', agent, offered });
      continue;
    }
    const holding = offered ?? creds.find((c) => c.state === 'active' && c.id === agent.credentialId) ?? null;
    if (holding) steps.push({ step: 'offer', agent, credential: holding });
  }
  return steps;
}

/** An agent's enrollment row as the batch finds it (locked). */
export interface EnrollmentRow {
  /** It holds an offered or active credential of its own. */
  readonly alive: boolean;
  /** It has a revoked credential. */
  readonly revoked: boolean;
}

/** known: enrolled already; enrolled: the first time; re_enrolled: after a revocation (a new enrollment). */
export type EnrollmentNeed = 'known' | 'enrolled' | 're_enrolled';

export function enrollmentNeed(row: EnrollmentRow | undefined): EnrollmentNeed {
  if (!row) return 'enrolled';
  return row.alive || !row.revoked ? 'known' : 're_enrolled';
}

export interface TokenUse {
  /** null: no limit. */
  readonly maxUses: number | null;
  readonly uses: number;
}

/**
 * Which of the candidates (in batch order) each token still admits, by its
 * use count read under lock. Candidates of tokens not in `tokens` (static or
 * deleted ones) count nothing and are admitted. Returns the admitted keys and
 * how many uses each token gains.
 */
export function admitEnrollments(candidates: ReadonlyArray<{ key: string; tokenId: string | null }>, tokens: ReadonlyMap<string, TokenUse>): { admitted: Set<string>; uses: Map<string, number> } {
  const admitted = new Set<string>();
  const uses = new Map<string, number>();
  for (const c of candidates) {
    const token = c.tokenId ? tokens.get(c.tokenId) : undefined;
    if (!token || !c.tokenId) {
      admitted.add(c.key);
      continue;
    }
    const taken = uses.get(c.tokenId) ?? 0;
    if (token.maxUses !== null && token.uses + taken >= token.maxUses) continue;
    uses.set(c.tokenId, taken + 1);
    admitted.add(c.key);
  }
  return { admitted, uses };
}

export type AfterEnrollment =
  | { readonly next: 'refuse' }
  /** Nothing to offer: the agent does not accept connection settings, or no credentials are issued here. */
  | { readonly next: 'none' }
  | { readonly next: 'offer'; readonly credential: LiveCredential }
  | { readonly next: 'issue' };

/**
 * After its enrollment: refused when the token is exhausted; else offered the
 * credential on offer, or its active one (an event older than its switch), or
 * issued one.
 */
export function afterEnrollment(exhausted: boolean, accepts: boolean, issuing: boolean, creds: readonly LiveCredential[]): AfterEnrollment {
  if (exhausted) return { next: 'refuse' };
  if (!accepts || !issuing) return { next: 'none' };
  const held = creds.find((c) => c.state === 'offered') ?? creds.find((c) => c.state === 'active');
  return held ? { next: 'offer', credential: held } : { next: 'issue' };
}
