/**
 * Who and what the edge lets in: credentials (a bearer header, and a client
 * certificate and identity a trusted terminator vouched for), and the
 * refusals with a retry delay while it drains or cannot keep up with the bus.
 */
import type * as uWS from 'uWebSockets.js';
import type { AgentCredential } from './agent-token.authority';
import { type ConnectCredential, connectCredential, fingerprintOfPem, parseFingerprint } from './client-certificate';
import { EDGE_DEFAULTS } from './edge-defaults';
import { text } from './edge-connection';
import type { EdgeMetrics, RejectionReason } from './edge-metrics';
import type { EdgeDependencies, EdgeOptions } from './edge-options';
import { TokenBucket } from './token-bucket';
import { TrustedProxies } from './trusted-proxies';

/** The request's headers admission reads, taken before any await (uWS requests are valid only during their handler). */
export interface PresentedHeaders {
  readonly authorization: string;
  readonly apiKey: string;
  /** From a trusted terminator only; null when the peer is not one (or none is configured). */
  readonly vouched: { readonly subject: string; readonly fingerprintRaw: string; readonly certificateRaw: string } | null;
}

/** What a request or an upgrade presented: the credential it speaks with (or why none), and the vouched identity for the record. */
export interface PresentedIdentity {
  readonly verdict: ConnectCredential;
  /** The verified subject; else `sha256:<fingerprint>` of a believed certificate; '' when none. */
  readonly clientIdentity: string;
}

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
  private readonly trusted: TrustedProxies | null;
  private readonly lookups = new TokenBucket(EDGE_DEFAULTS.credentialLookupsPerSecond, EDGE_DEFAULTS.credentialLookupBurst);

  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: EdgeDependencies,
    private readonly metrics: EdgeMetrics,
  ) {
    this.trusted = options.clientIdentity ? new TrustedProxies(options.clientIdentity.trustedProxies) : null;
  }

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

  /** Reads what the request presented and judges it; headers are readable only now, before any await. */
  identify(res: uWS.HttpResponse, req: uWS.HttpRequest): PresentedIdentity {
    return this.evaluate(this.presented(res, req));
  }

  /** The headers admission reads (call before any await). */
  presented(res: uWS.HttpResponse, req: uWS.HttpRequest): PresentedHeaders {
    const ci = this.options.clientIdentity;
    const header = (name: string | undefined) => (name ? req.getHeader(name.toLowerCase()) : '');
    const vouched =
      ci && this.trusted?.has(text(res.getRemoteAddressAsText()))
        ? { subject: header(ci.header), fingerprintRaw: header(ci.fingerprintHeader), certificateRaw: ci.fingerprintHeader ? '' : header(ci.certificateHeader) }
        : null;
    return { authorization: req.getHeader('authorization'), apiKey: req.getHeader('x-api-key'), vouched };
  }

  /** Judges presented headers against what this gateway knows now. */
  evaluate(p: PresentedHeaders): PresentedIdentity {
    const { authorization, apiKey } = p;
    const bearer = this.deps.authenticator.authenticate(authorization, apiKey);
    const ci = this.options.clientIdentity;
    if (!ci || !p.vouched) {
      if (ci?.required) return { verdict: refusal('unauthorized', 'a client certificate is required'), clientIdentity: '' };
      return { verdict: connectCredential(this.deps.authenticator, bearer, false, null), clientIdentity: '' };
    }
    const subject = p.vouched.subject;
    let fingerprint: string | null = null;
    if (ci.fingerprintHeader) {
      const raw = p.vouched.fingerprintRaw;
      fingerprint = raw ? parseFingerprint(raw) : null;
      if (raw && !fingerprint) return { verdict: refusal('unknown_certificate', 'the client certificate fingerprint is not a SHA-256 digest'), clientIdentity: '' };
    } else if (ci.certificateHeader) {
      const raw = p.vouched.certificateRaw;
      fingerprint = raw ? fingerprintOfPem(raw) : null;
      if (raw && !fingerprint) return { verdict: refusal('unknown_certificate', 'the client certificate header holds no certificate'), clientIdentity: '' };
    }
    if (ci.required && !subject && !fingerprint) return { verdict: refusal('unauthorized', 'a client certificate is required'), clientIdentity: '' };
    return {
      verdict: connectCredential(this.deps.authenticator, bearer, !!(authorization || apiKey), fingerprint),
      clientIdentity: subject || (fingerprint ? `sha256:${fingerprint}` : ''),
    };
  }

  /**
   * For a bearer credential this gateway does not know: one read of the shared
   * directory (bounded per second), learning what it finds, then the verdict
   * again. null when nothing is worth reading (known, accepted, no bearer, no
   * directory). Never rejects: a failed read leaves the first verdict.
   */
  recheck(p: PresentedHeaders, identity: PresentedIdentity): Promise<PresentedIdentity> | null {
    const lookup = this.deps.credentialLookup;
    const authority = this.deps.authenticator;
    if (identity.verdict.ok || identity.verdict.metric !== 'unauthorized' || !lookup || !authority.bearerDigest || !authority.knows || !authority.learn) return null;
    const presented = authority.bearerDigest(p.authorization, p.apiKey);
    if (!presented || authority.knows(presented)) return null;
    if (!this.lookups.tryTake()) {
      this.metrics.credentialLookups.inc({ result: 'skipped' });
      return null;
    }
    const learn = authority.learn.bind(authority);
    return lookup.lookup(presented).then(
      (entry) => {
        this.metrics.credentialLookups.inc({ result: entry ? 'found' : 'absent' });
        if (!entry) return identity;
        learn(entry);
        return this.evaluate(p);
      },
      () => {
        this.metrics.credentialLookups.inc({ result: 'error' });
        return identity;
      },
    );
  }

  /** True when the request presented a credential it may connect with; else answers 401 (counted). */
  admits(res: uWS.HttpResponse, identity: PresentedIdentity): identity is PresentedIdentity & { verdict: { ok: true; credential: AgentCredential } } {
    if (identity.verdict.ok) return true;
    this.metrics.reject(identity.verdict.metric);
    res.writeStatus('401 Unauthorized').writeHeader('WWW-Authenticate', 'Bearer').end(`${identity.verdict.detail}\n`);
    return false;
  }
}

function refusal(metric: 'unauthorized' | 'unknown_certificate', detail: string): ConnectCredential {
  return { ok: false, metric, detail };
}
