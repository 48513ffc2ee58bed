/**
 * The only place the end-to-end harness reads its environment: where the real
 * infrastructure listens (the same variables as every integration test, see
 * libs/testing) and the environment the app processes inherit.
 */
import { testInfra, type TestInfra } from '@opamp/testing';

export interface E2eConfig {
  readonly infra: TestInfra;
  /** Inherited by every child process (PATH, NODE_OPTIONS, ...); the harness adds the OPAMP_* variables. */
  readonly inheritedEnv: Readonly<Record<string, string | undefined>>;
  /** Keep the per-run log directory even when every test passed. */
  readonly keepLogs: boolean;
}

/** Variables of ours that must not leak from the caller's shell into the app processes. */
const OWN_PREFIX = 'OPAMP_';

export function loadE2eConfig(env: Record<string, string | undefined> = process.env): E2eConfig {
  const inheritedEnv: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(OWN_PREFIX)) inheritedEnv[key] = value;
  }
  return {
    infra: testInfra(env as NodeJS.ProcessEnv),
    inheritedEnv,
    keepLogs: env['OPAMP_E2E_KEEP_LOGS'] === 'true',
  };
}
