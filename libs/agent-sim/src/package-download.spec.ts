import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { downloadPackageFile, DownloadRefusedError } from './package-download';

describe('downloadPackageFile: a server whose download slots are full (503 + Retry-After)', () => {
  const bytes = randomBytes(64 * 1024);
  let server: Server;
  let url: string;
  /** How many requests in a row are answered busy before the file is served. */
  let busyFor = 0;
  let requests = 0;
  let retryAfter: string | null = '0';

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      if (busyFor > 0) {
        busyFor--;
        res.writeHead(503, retryAfter === null ? {} : { 'retry-after': retryAfter });
        return void res.end('busy\n');
      }
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
  });
  beforeEach(() => {
    requests = 0;
    retryAfter = '0';
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('asks again after Retry-After, up to busyWaits times, and gets the file', async () => {
    busyFor = 2;
    const got = await downloadPackageFile(url, { signal: new AbortController().signal, busyWaits: 2 });
    expect({ sha256: got.sha256.toString('hex'), bytes: got.bytes, busyWaits: got.busyWaits, requests }).toEqual({
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
      busyWaits: 2,
      requests: 3,
    });
  });

  it('is refused once the waits allowed are used up, and at once without them (as opamp-go)', async () => {
    busyFor = 2;
    await expect(downloadPackageFile(url, { signal: new AbortController().signal, busyWaits: 1 })).rejects.toThrow(new DownloadRefusedError('the download answered HTTP 503'));
    expect(requests).toBe(2);
    busyFor = 1;
    await expect(downloadPackageFile(url, { signal: new AbortController().signal })).rejects.toBeInstanceOf(DownloadRefusedError);
    expect(requests).toBe(3);
  });

  it('does not wait on a 503 without Retry-After', async () => {
    busyFor = 1;
    retryAfter = null;
    await expect(downloadPackageFile(url, { signal: new AbortController().signal, busyWaits: 5 })).rejects.toBeInstanceOf(DownloadRefusedError);
    expect(requests).toBe(1);
    busyFor = 0;
  });
});
