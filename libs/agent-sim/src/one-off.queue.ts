/**
 * What rides once with the agent's next messages, beside its status: custom
 * messages (one per message, in order) and a certificate signing request
 * (the latest, until sent). What a failed plain-HTTP request carried is put
 * back in front.
 */
import type { opamp } from '@opamp/protocol';

export interface OneOffItems {
  readonly customMessage?: opamp.proto.v1.ICustomMessage;
  /** A PEM CSR for connection_settings_request.opamp.certificate_request. */
  readonly certificateRequest?: Uint8Array;
}

export class OneOffQueue {
  private readonly custom: opamp.proto.v1.ICustomMessage[] = [];
  private csr: Uint8Array | undefined;

  get pending(): boolean {
    return this.custom.length > 0 || this.csr !== undefined;
  }

  pushCustom(message: opamp.proto.v1.ICustomMessage): void {
    this.custom.push(message);
  }

  setCertificateRequest(csr: Uint8Array): void {
    this.csr = csr;
  }

  /** The items of the next message; undefined when nothing waits. */
  take(): OneOffItems | undefined {
    const customMessage = this.custom.shift();
    const certificateRequest = this.csr;
    this.csr = undefined;
    if (!customMessage && !certificateRequest) return undefined;
    return { ...(customMessage ? { customMessage } : {}), ...(certificateRequest ? { certificateRequest } : {}) };
  }

  /** Puts back what a message that did not arrive carried (a newer CSR set meanwhile wins). */
  requeue(items: OneOffItems | undefined): void {
    if (items?.customMessage) this.custom.unshift(items.customMessage);
    if (items?.certificateRequest && !this.csr) this.csr = items.certificateRequest;
  }
}
