/**
 * The REST/JSON API under /api/v1 (same origin as the console), called with
 * the operator's admin token. The token lives in sessionStorage only: it is
 * gone when the tab closes, and nothing is fetched without it.
 */
const TOKEN_KEY = 'opamp.console.adminToken';

export const session = {
  token(): string | null {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  save(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export class Api {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: (message: string) => void = () => undefined,
    private readonly base = '/api/v1',
  ) {}

  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const url = `${this.base}${path}${qs.size > 0 ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
        cache: 'no-store',
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'UNAVAILABLE', 'The server cannot be reached.');
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const e = (json as { error?: { status?: string; message?: string } } | undefined)?.error;
      const err = new ApiError(res.status, e?.status ?? 'UNKNOWN', e?.message ?? `HTTP ${res.status}`);
      if (res.status === 401) this.onUnauthorized(err.message);
      throw err;
    }
    return json as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /**
   * POSTs a file's raw bytes (application/octet-stream) with XMLHttpRequest,
   * whose upload events give progress that fetch does not; errors as request().
   */
  upload<T>(path: string, body: Blob, onProgress: (loaded: number, total: number) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${this.base}${path}`);
      xhr.setRequestHeader('authorization', `Bearer ${this.token}`);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
      xhr.onerror = () => reject(new ApiError(0, 'UNAVAILABLE', 'The server cannot be reached.'));
      xhr.onload = () => {
        let json: unknown = undefined;
        try {
          json = xhr.responseText ? JSON.parse(xhr.responseText) : {};
        } catch {
          /* not JSON */
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(body.size, body.size);
          resolve(json as T);
          return;
        }
        const e = (json as { error?: { status?: string; message?: string } } | undefined)?.error;
        const err = new ApiError(xhr.status, e?.status ?? 'UNKNOWN', e?.message ?? `HTTP ${xhr.status}`);
        if (xhr.status === 401) this.onUnauthorized(err.message);
        reject(err);
      };
      xhr.send(body);
    });
  }

  /** DeleteAgent: the server refuses a connected agent (FAILED_PRECONDITION, with the reason). */
  deleteAgent(instanceUid: string): Promise<{ agentsRemoved: number }> {
    return this.delete<{ agentsRemoved: number }>(`/agents/${encodeURIComponent(instanceUid)}`);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
