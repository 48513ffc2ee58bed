import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { findConsoleDir, serveConsole } from './console-static';

@Controller('api/v1')
class PingController {
  @Get('ping')
  ping(): { pong: true } {
    return { pong: true };
  }
}

@Module({ controllers: [PingController] })
class PingModule {}

function fakeBuild(root: string): string {
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  return root;
}

describe('findConsoleDir', () => {
  it('prefers the workspace build (dist/console) above the start directory, then a console directory beside a dist tree', () => {
    const root = mkdtempSync(join(tmpdir(), 'console-find-'));
    const start = join(root, 'dist', 'out-tsc', 'libs', 'platform-api', 'src');
    mkdirSync(start, { recursive: true });
    expect(findConsoleDir(start)).toBeNull();
    const shipped = fakeBuild(join(root, 'dist', 'out-tsc', 'console'));
    expect(findConsoleDir(start)).toBe(shipped);
    const built = fakeBuild(join(root, 'dist', 'console'));
    expect(findConsoleDir(start)).toBe(built);
  });

  it('ignores a directory without built assets (the console source)', () => {
    const root = mkdtempSync(join(tmpdir(), 'console-src-'));
    mkdirSync(join(root, 'console'), { recursive: true });
    writeFileSync(join(root, 'console', 'index.html'), '<script src="/src/main.tsx"></script>');
    expect(findConsoleDir(join(root, 'x'))).toBeNull();
  });
});

describe('serveConsole', () => {
  let app: NestExpressApplication;
  let base: string;

  beforeAll(async () => {
    const dir = fakeBuild(mkdtempSync(join(tmpdir(), 'console-serve-')));
    app = await NestFactory.create<NestExpressApplication>(PingModule, { logger: false });
    serveConsole(app, dir);
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await app.close();
  });

  it('serves index.html at / and for the console routes, without a token', async () => {
    for (const path of ['/', '/agents', '/configurations/collector?tab=edit']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).toContain('<div id="root">');
    }
  });

  it('serves hashed assets for good and 404s a missing asset', async () => {
    const res = await fetch(`${base}/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  it('leaves /api to the API', async () => {
    const ping = await fetch(`${base}/api/v1/ping`);
    expect(await ping.json()).toEqual({ pong: true });
    const missing = await fetch(`${base}/api/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(404);
  });
});
