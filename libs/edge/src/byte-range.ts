/**
 * HTTP range and validator rules of package downloads (RFC 9110 §13-14), pure:
 * one `bytes=` range of a file of known size, and the ETag checks. A Range
 * the server may ignore (malformed, several ranges, an If-Range of other
 * content) means the whole file; one outside the file is unsatisfiable (416).
 */

export type RangeDecision = { whole: true } | { start: number; end: number } | { unsatisfiable: true };

const SINGLE = /^bytes=(\d*)-(\d*)$/;

export function decideRange(header: string, size: number, ifRange = '', etag = ''): RangeDecision {
  const h = header.trim();
  if (!h) return { whole: true };
  // An If-Range that names other content: the client's partial copy is of something else.
  if (ifRange && !sameEtag(ifRange.trim(), etag)) return { whole: true };
  const m = SINGLE.exec(h.replace(/\s+/g, ''));
  if (!m || (m[1] === '' && m[2] === '')) return { whole: true };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { unsatisfiable: true };
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return { whole: true };
  if (start >= size) return { unsatisfiable: true };
  return { start, end: Math.min(end, size - 1) };
}

function sameEtag(a: string, b: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return strip(a) === strip(b);
}

/** True when If-None-Match names this ETag (or `*`): the client has these bytes, 304. */
export function notModified(ifNoneMatch: string, etag: string): boolean {
  const h = ifNoneMatch.trim();
  if (!h) return false;
  if (h === '*') return true;
  return h.split(',').some((t) => sameEtag(t, etag));
}
