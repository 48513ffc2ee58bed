// Builds the operator console into dist/console; fleet-server and
// config-service serve that directory at `/` on their API port
// (libs/platform-api). `nx run console:serve` runs the dev server and proxies
// /api to CONSOLE_API (default: the embedded server's REST port).
import { fileURLToPath } from 'node:url';
import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, repo, 'CONSOLE_');
  return {
    root,
    base: '/',
    plugins: [react()],
    build: {
      outDir: `${repo}dist/console`,
      emptyOutDir: true,
      sourcemap: true,
      chunkSizeWarningLimit: 800,
    },
    server: {
      port: 4300,
      proxy: { '/api': env.CONSOLE_API ?? 'http://127.0.0.1:4380' },
    },
  };
});
