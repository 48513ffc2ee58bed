/**
 * Typed, fail-fast reading of environment variables. Each app declares a
 * schema in its config module; `readEnv` returns the typed values or throws
 * one error that lists every problem, so a misconfigured process stops before
 * it opens a port.
 */
export interface EnvVar<T> {
  parse(raw: string | undefined, name: string): T;
  /** Secrets are never echoed back in error messages. */
  readonly secret?: boolean;
}

export class EnvConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvConfigError';
  }
}

function required<T>(raw: string | undefined, name: string, fallback: T | undefined): string | T {
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new Error(`${name} is required`);
    return fallback;
  }
  return raw;
}

export function str(options: { default?: string; choices?: readonly string[]; secret?: boolean } = {}): EnvVar<string> {
  return {
    secret: options.secret,
    parse(raw, name) {
      const value = required(raw, name, options.default);
      if (options.choices && !options.choices.includes(value)) {
        throw new Error(`${name} must be one of ${options.choices.join(', ')}`);
      }
      return value;
    },
  };
}

export function int(options: { default?: number; min?: number; max?: number } = {}): EnvVar<number> {
  return {
    parse(raw, name) {
      const value = required<number>(raw, name, options.default);
      const n = typeof value === 'number' ? value : Number(value.trim());
      if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got "${String(value)}"`);
      if (options.min !== undefined && n < options.min) throw new Error(`${name} must be >= ${options.min}`);
      if (options.max !== undefined && n > options.max) throw new Error(`${name} must be <= ${options.max}`);
      return n;
    },
  };
}

export function bool(options: { default?: boolean } = {}): EnvVar<boolean> {
  return {
    parse(raw, name) {
      const value = required<boolean>(raw, name, options.default);
      if (typeof value === 'boolean') return value;
      const v = value.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error(`${name} must be true or false, got "${value}"`);
    },
  };
}

export function list(options: { default?: string[] } = {}): EnvVar<string[]> {
  return {
    parse(raw, name) {
      const value = required<string[]>(raw, name, options.default);
      const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
      if (items.length === 0) throw new Error(`${name} must list at least one value`);
      return items;
    },
  };
}

export function url(options: { default?: string; protocols?: readonly string[]; secret?: boolean } = {}): EnvVar<string> {
  return {
    secret: options.secret,
    parse(raw, name) {
      const value = required(raw, name, options.default);
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw new Error(`${name} must be a URL`);
      }
      if (options.protocols && !options.protocols.includes(parsed.protocol.replace(/:$/, ''))) {
        throw new Error(`${name} must use ${options.protocols.join(' or ')}`);
      }
      return value;
    },
  };
}

export type EnvSchema = Record<string, EnvVar<unknown>>;
export type EnvValues<S extends EnvSchema> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

export function readEnv<S extends EnvSchema>(schema: S, env: Record<string, string | undefined>): EnvValues<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    try {
      out[name] = spec.parse(env[name], name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new EnvConfigError(problems);
  return out as EnvValues<S>;
}
