/**
 * Serves the operator console (apps/console, built by Vite into dist/console)
 * at `/` on the API's HTTP port: the static files, and index.html for every
 * other GET outside /api so the console's own routes survive a reload. The
 * files need no token; everything the console shows comes from the API, which
 * does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** The parts of express's request and response used here (express ships no types in this workspace). */
interface Request {
  method: string;
  path: string;
}
interface Response {
  setHeader(name: string, value: string): void;
  status(code: number): Response;
  type(t: string): Response;
  send(body: string | Buffer): void;
  end(): void;
}
type Next = () => void;

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

function isConsoleBuild(dir: string): boolean {
  return existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets'));
}

/**
 * Finds the built console: first `dist/console` above `start` (the workspace's
 * build output, always the newest), then a `console` directory above it (the
 * copy tools/runtime/finish-build.js puts in dist/out-tsc, for a dist tree
 * shipped without the workspace). Null when the console was not built.
 */
export function findConsoleDir(start: string = __dirname): string | null {
  for (const relative of [join('dist', 'console'), 'console']) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, relative);
      if (isConsoleBuild(candidate)) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return null;
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/metrics';
}

/** Registers the console's static files and its SPA fallback; call before the app listens (before Nest's routes). */
export function serveConsole(app: NestExpressApplication, dir: string): void {
  const index = readFileSync(join(dir, 'index.html'));
  app.useStaticAssets(dir, {
    index: false,
    setHeaders: (res: Response, path: string) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      // Vite puts a content hash in every asset's name: cache for good.
      res.setHeader('cache-control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.use((req: Request, res: Response, next: Next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApiPath(req.path) || req.path.startsWith('/assets/')) {
      next();
      return;
    }
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    res.setHeader('cache-control', 'no-cache');
    res.status(200).type('html');
    if (req.method === 'HEAD') res.end();
    else res.send(index);
  });
}
