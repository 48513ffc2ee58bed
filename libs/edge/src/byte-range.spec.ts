import { decideRange, notModified } from './byte-range';

const ETAG = `"${'ab'.repeat(32)}"`;

describe('package download ranges and validators', () => {
  it('serves the whole file without a Range, and for one it may ignore', () => {
    expect(decideRange('', 100)).toEqual({ whole: true });
    expect(decideRange('items=0-5', 100)).toEqual({ whole: true });
    expect(decideRange('bytes=0-5,10-20', 100)).toEqual({ whole: true });
    expect(decideRange('bytes=-', 100)).toEqual({ whole: true });
    expect(decideRange('bytes=9-3', 100)).toEqual({ whole: true });
  });

  it('reads first-last, open-ended and suffix ranges, cut to the file', () => {
    expect(decideRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(decideRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(decideRange('bytes=90-1000', 100)).toEqual({ start: 90, end: 99 });
    expect(decideRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(decideRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(decideRange(' bytes = 5 - 6 ', 100)).toEqual({ start: 5, end: 6 });
  });

  it('finds a range outside the file unsatisfiable (416)', () => {
    expect(decideRange('bytes=100-', 100)).toEqual({ unsatisfiable: true });
    expect(decideRange('bytes=100-200', 100)).toEqual({ unsatisfiable: true });
    expect(decideRange('bytes=-0', 100)).toEqual({ unsatisfiable: true });
    expect(decideRange('bytes=0-', 0)).toEqual({ unsatisfiable: true });
  });

  it('honours If-Range only for this content', () => {
    expect(decideRange('bytes=10-', 100, ETAG, ETAG)).toEqual({ start: 10, end: 99 });
    expect(decideRange('bytes=10-', 100, `W/${ETAG}`, ETAG)).toEqual({ start: 10, end: 99 });
    expect(decideRange('bytes=10-', 100, '"other"', ETAG)).toEqual({ whole: true });
  });

  it('answers 304 when If-None-Match names the content hash or *', () => {
    expect(notModified(ETAG, ETAG)).toBe(true);
    expect(notModified(`"x", W/${ETAG}`, ETAG)).toBe(true);
    expect(notModified('*', ETAG)).toBe(true);
    expect(notModified('"x"', ETAG)).toBe(false);
    expect(notModified('', ETAG)).toBe(false);
  });
});
