/**
 * Owns reading the HTTP `Retry-After` header (RFC 9110 §10.2.3) that an
 * overloaded server sends with 429 / 503, on plain-HTTP responses and on a
 * refused WebSocket upgrade. The value is either delta-seconds (a non-negative
 * integer) or an HTTP-date; both become a delay in milliseconds.
 */

const DELTA_SECONDS = /^\d+$/;

/**
 * The delay in ms that `value` asks for, relative to `nowMs`, or undefined when
 * the header is absent or malformed. A date in the past means 0 (retry now).
 */
export function parseRetryAfterMs(value: string | readonly string[] | null | undefined, nowMs: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : (value as string | null | undefined);
  if (raw === undefined || raw === null) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // An HTTP-date has a weekday name and a zone (IMF-fixdate "Sun, 06 Nov 1994
  // 08:49:37 GMT", the obsolete RFC 850 and asctime forms). Date.parse reads
  // all three; asctime has no zone and is GMT by definition.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(text);
  const at = Date.parse(asctime ? `${text} GMT` : text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Nanoseconds from `retry_info.retry_after_nanoseconds` as ms, or undefined when unset/0. */
export function retryInfoToMs(nanoseconds: number | null | undefined): number | undefined {
  if (!nanoseconds || !Number.isFinite(nanoseconds) || nanoseconds <= 0) return undefined;
  return Math.ceil(nanoseconds / 1e6);
}
