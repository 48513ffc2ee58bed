/**
 * Whether a connection's credential may speak for an instance_uid: the rule
 * that makes a stolen per-agent credential useless for any other agent, and
 * the first-claim rule of shared enrollment tokens. Pure; the transports ask
 * it before they bind an agent to a connection.
 *
 * - An agent's own credential, and its client certificate (a directory entry
 *   of kind certificate, client-certificate.ts), speaks only for its uid, or
 *   for a uid the server itself assigned on that connection
 *   (agent_identification.new_instance_uid). Its holder may take over the
 *   agent's older connection (a reconnect).
 * - An enrollment token speaks for any uid of its tenant that holds no
 *   credential of its own, but only exclusively: while the uid is live on
 *   another connection the new claim is refused as a duplicate, never a takeover.
 * - A tenant that requires per-agent credentials admits enrollment-token
 *   connections only from agents that can take their own (0x100).
 */
import { fleet } from '@opamp/contracts';
import { AgentCapabilities, decodeServerToAgent, hasCapability } from '@opamp/protocol';
import type { ConnectionContext } from './edge-connection';
import type { AgentCredential } from './agent-token.authority';
import type { RejectionReason } from './edge-metrics';

/** What the rule reads from the credential directory. */
export interface ClaimDirectory {
  hasOwnCredential(tenantId: string, uidHex: string): boolean;
  requiresAgentCredentials(tenantId: string): boolean;
}

export type ClaimVerdict =
  | { readonly ok: true; readonly exclusive: boolean }
  | { readonly ok: false; readonly reason: fleet.v1.RefusalReason; readonly metric: RejectionReason; readonly detail: string };

const R = fleet.v1.RefusalReason;

export function claimVerdict(
  directory: ClaimDirectory,
  credential: AgentCredential,
  uidHex: string,
  capabilities: number,
  serverAssigned: ReadonlySet<string> | undefined,
): ClaimVerdict {
  if (speaksForOneAgent(credential)) {
    if (credential.uidHex === uidHex || serverAssigned?.has(uidHex)) return { ok: true, exclusive: false };
    return {
      ok: false,
      reason: R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT,
      metric: 'credential_of_another_agent',
      detail:
        credential.kind === 'certificate'
          ? 'this client certificate belongs to another agent: a certificate speaks only for the instance_uid it was issued to'
          : 'this credential belongs to another agent: a per-agent credential speaks only for its own instance_uid',
    };
  }
  if (directory.hasOwnCredential(credential.tenantId, uidHex)) {
    return {
      ok: false,
      reason: R.REFUSAL_REASON_AGENT_HAS_OWN_CREDENTIAL,
      metric: 'agent_has_own_credential',
      detail: 'this agent holds a credential of its own: the enrollment token no longer speaks for it',
    };
  }
  if (directory.requiresAgentCredentials(credential.tenantId) && !hasCapability(capabilities, AgentCapabilities.AcceptsOpAMPConnectionSettings)) {
    return {
      ok: false,
      reason: R.REFUSAL_REASON_AGENT_CREDENTIAL_REQUIRED,
      metric: 'agent_credential_required',
      detail: 'this tenant requires per-agent credentials: the agent must accept OpAMP connection settings (AcceptsOpAMPConnectionSettings)',
    };
  }
  return { ok: true, exclusive: true };
}

/** An agent's own credential or client certificate: bound to one instance_uid. */
export function speaksForOneAgent(credential: AgentCredential): boolean {
  return credential.kind === 'agent' || credential.kind === 'certificate';
}

/** The refusal of a second live connection claiming an uid under an enrollment token. */
export const DUPLICATE_DETAIL =
  'this instance_uid is connected on another connection: an enrollment token cannot take an agent over (reconnect after the other connection ended)';

/**
 * Remembers a new instance_uid the server assigns on this connection: the
 * agent's own credential speaks for it from then on (the binding moves with it
 * in the directory too, for later connections).
 */
export function noteServerAssignedUid(conn: ConnectionContext, serverToAgent: Uint8Array): void {
  let newUid: Uint8Array | null | undefined;
  try {
    newUid = decodeServerToAgent(serverToAgent).agentIdentification?.newInstanceUid;
  } catch {
    return;
  }
  if (newUid && newUid.length === 16) (conn.serverAssigned ??= new Set()).add(Buffer.from(newUid).toString('hex'));
}
