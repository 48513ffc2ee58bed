/**
 * Who and what the edge lets in: credentials (and a proxy-vouched client
 * identity), and the refusals with a retry delay while it drains or cannot
 * keep up with the bus.
 */
import type * as uWS from 'uWebSockets.js';
import type { AgentCredential } from './agent-token.authority';
import { EDGE_DEFAULTS } from './edge-defaults';
import { text } from './edge-connection';
import type { EdgeMetrics, RejectionReason } from './edge-metrics';
import type { EdgeDependencies, EdgeOptions } from './edge-options';

/**
 * Seconds drawn uniformly from the drain range while draining, else from the
 * overload range: a restart is over in seconds, real overload is not.
 */
export function retryAfterSeconds(
  options: Pick<EdgeOptions, 'retryAfterRangeS' | 'drainRetryAfterRangeS'>,
  draining: boolean,
  random: () => number = Math.random,
): number {
  const [min, max] = draining
    ? (options.drainRetryAfterRangeS ?? [EDGE_DEFAULTS.drainRetryAfterMinS, EDGE_DEFAULTS.drainRetryAfterMaxS])
    : options.retryAfterRangeS;
  return min + Math.min(max - min, Math.floor(random() * (max - min + 1)));
}

export class EdgeAdmission {
  draining = false;

  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: EdgeDependencies,
    private readonly metrics: EdgeMetrics,
  ) {}

  /** True while the bus (Kafka) cannot take messages fast enough: admit no new work. */
  saturated(): boolean {
    const inbound = this.deps.inbound;
    return (
      inbound.backlog >= this.options.maxPendingInbound ||
      inbound.backlogBytes >= (this.options.maxPendingInboundBytes ?? EDGE_DEFAULTS.maxPendingInboundBytes)
    );
  }

  /** The retry delay to tell an agent now: short while draining, the overload range otherwise. */
  retryAfterSeconds(random: () => number = Math.random): number {
    return retryAfterSeconds(this.options, this.draining, random);
  }

  refuseOverloaded(res: uWS.HttpResponse, reason: RejectionReason, status = '503 Service Unavailable'): void {
    this.metrics.reject(reason);
    res
      .writeStatus(status)
      .writeHeader('Retry-After', String(this.retryAfterSeconds()))
      .writeHeader('Content-Type', 'text/plain')
      .end(this.draining ? 'gateway is restarting, retry shortly\n' : 'server is busy, retry later\n');
  }

  authenticate(req: uWS.HttpRequest): AgentCredential | null {
    return this.deps.authenticator.authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'));
  }

  /** The client identity a trusted proxy vouched for; '' when none (or not from a trusted proxy). */
  clientIdentityOf(res: uWS.HttpResponse, req: uWS.HttpRequest): string {
    const ci = this.options.clientIdentity;
    if (!ci) return '';
    const peer = text(res.getRemoteAddressAsText());
    if (!ci.trustedProxies.includes(peer)) return '';
    return req.getHeader(ci.header.toLowerCase());
  }

  /** A credential, and the client identity when one is required; else answers 401. */
  admits(res: uWS.HttpResponse, credential: AgentCredential | null, clientIdentity: string): credential is AgentCredential {
    if (credential && (!this.options.clientIdentity?.required || clientIdentity)) return true;
    this.metrics.reject('unauthorized');
    res.writeStatus('401 Unauthorized').writeHeader('WWW-Authenticate', 'Bearer').end('unauthorized\n');
    return false;
  }
}
