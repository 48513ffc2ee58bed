/**
 * Owns, for one agent, which numbered status report the server acknowledged:
 * the fault suite has each agent report a counter (in its health status) and
 * checks afterwards that the server's view holds at least the last counter
 * the gateway acknowledged, so a fault that loses an acknowledged status shows.
 *
 * The gateway answers every AgentToServer on a WebSocket at once and in order
 * (a plain acknowledgement, or an error_response when it did not take it);
 * pushes are interleaved but answer nothing. So the n-th answer on a
 * connection answers the n-th message sent on it. A counter travels in the
 * first message sent after it was set (the health part is dirty) and in the
 * first message of every later connection (full state). Messages are counted
 * by the agent's running total of sends (`sent`).
 */
import type { opamp } from '@opamp/protocol';

/** Whether a ServerToAgent answers a message (ack or refusal) and whether it is a plain ack. */
export function replyKind(m: opamp.proto.v1.IServerToAgent): 'ack' | 'refusal' | 'push' {
  if (m.errorResponse) return 'refusal';
  const pushed =
    m.remoteConfig || m.flags || m.command || m.connectionSettings || m.packagesAvailable || m.agentIdentification || m.customMessage || m.customCapabilities;
  return pushed ? 'push' : 'ack';
}

export class StatusAckTracker {
  /** The counter last set (0: none yet). */
  current = 0;
  /** The highest counter the server acknowledged (0: none). */
  acked = 0;
  /** Running send total of the message known to carry `current` (0: not yet known). */
  private carrier = 0;
  /** Send total when the current connection opened (its messages come after). */
  private connectionBase = 0;
  /** Answers received on the current connection. */
  private answers = 0;
  private open = false;

  /** A new counter is set while `sent` messages have gone out: the next one carries it. */
  set(counter: number, sent: number): void {
    this.current = counter;
    this.carrier = sent + 1;
  }

  /** A connection opened after `sent` messages: its first message is full state. */
  connected(sent: number): void {
    this.open = true;
    this.connectionBase = sent;
    this.answers = 0;
    if (this.acked < this.current) this.carrier = sent + 1;
  }

  disconnected(): void {
    this.open = false;
  }

  /** A ServerToAgent arrived on the open connection. */
  received(kind: 'ack' | 'refusal' | 'push'): void {
    if (!this.open || kind === 'push') return;
    this.answers++;
    if (kind === 'ack' && this.connectionBase + this.answers === this.carrier && this.current > this.acked) this.acked = this.current;
  }
}
