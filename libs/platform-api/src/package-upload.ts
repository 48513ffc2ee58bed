/**
 * POST /api/v1/package-files: a package file's raw bytes (any content type
 * but JSON; application/octet-stream is the usual one) streamed into the
 * package store, answered with its SHA-256 and size (PackageFileUpload).
 * REST only: gRPC would carry the file in one message. The body is never
 * held whole: it flows into the store as it arrives (api/package-api.ts),
 * and one beyond the package file limit is refused with 413 (at once when
 * its Content-Length says so) and the connection closed.
 */
import { DesiredStateError, PackageFileTooLargeError, type FleetApiService } from '@opamp/desired-state';
import type { JsonLog } from '@opamp/process-runtime';
import type { ProtoJson } from './proto-json';
import { errorCode, errorEnvelope, HTTP_STATUS, logInternalError, publicMessage, REQUEST_ID_HEADER, requestIdFrom } from './api-errors';

export const PACKAGE_UPLOAD_PATH = '/api/v1/package-files';
const RPC = 'UploadPackageFile';

/** The parts of express's request and response used here. */
interface UploadRequest extends AsyncIterable<Uint8Array> {
  method: string;
  /** Below the mount path: '/' for the collection itself. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  resume(): void;
}
interface UploadResponse {
  status(code: number): UploadResponse;
  json(body: unknown): void;
  setHeader(name: string, value: string): void;
}

export function packageUpload(api: FleetApiService, proto: ProtoJson, log: JsonLog) {
  const answer = proto.type('PackageFileUpload');
  return (req: UploadRequest, res: UploadResponse, next: (err?: unknown) => void): void => {
    if (req.method !== 'POST' || req.path !== '/') {
      next();
      return;
    }
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const fail = (err: unknown, close: boolean) => {
      api.count(err, RPC);
      logInternalError(log, err, { transport: 'rest', rpc: RPC, requestId });
      const code = errorCode(err);
      const http = err instanceof PackageFileTooLargeError ? 413 : HTTP_STATUS[code];
      // Unread bytes of a refused body: the connection goes rather than reading them all.
      if (close) res.setHeader('connection', 'close');
      res.status(http).json(errorEnvelope(http, code, publicMessage(err, requestId), requestId));
    };
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'application/json') {
      fail(new DesiredStateError('INVALID_ARGUMENT', 'a package file is uploaded as its raw bytes (content-type application/octet-stream), not JSON'), true);
      return;
    }
    void (async () => {
      try {
        const caller = await api.authenticate(req.headers['authorization'] as string | undefined);
        const declared = Number(req.headers['content-length'] ?? NaN);
        if (declared > api.packages.maxFileBytes) throw new PackageFileTooLargeError(api.packages.maxFileBytes);
        const result = await api.packages.uploadPackageFile(caller, req);
        api.count(undefined, RPC);
        res.status(200).json(proto.toJson(answer, result));
      } catch (err) {
        fail(err, true);
      }
    })();
  };
}
