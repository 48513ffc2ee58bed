/**
 * Owns the content hash of a remote configuration (AgentRemoteConfig.config_hash)
 * and a generic SHA-256 helper.
 *
 * The hash must be deterministic (the same files always give the same hash,
 * whatever order the map was built in) and injective in practice (different
 * maps never give the same input to SHA-256). The hashed byte string is:
 *
 *   "opamp-config-hash/v1\n"
 *   u64be(number of files)
 *   for each file, sorted by the UTF-8 bytes of its name:
 *     u64be(len(name)) name  u64be(len(content_type)) content_type  u64be(len(body)) body
 *
 * Every variable-length part is length-prefixed, so ("a","bc") and ("ab","c")
 * cannot produce the same bytes. Names are sorted by bytes, not by JS string
 * order (UTF-16 code units), so other languages can reproduce it. The version
 * tag allows changing the scheme later without silently matching old hashes.
 */
import { createHash } from 'node:crypto';

export const CONFIG_HASH_TAG = 'opamp-config-hash/v1\n';

/** SHA-256 of the concatenation of `parts` (strings as UTF-8). */
export function sha256(...parts: ReadonlyArray<Uint8Array | string>): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** A config file as found in AgentConfigMap.config_map values. */
export interface ConfigFileLike {
  readonly body?: Uint8Array | null;
  readonly contentType?: string | null;
}

/** The AgentConfigMap shape (generated class instance or plain object). */
export interface ConfigMapLike {
  readonly configMap?: Readonly<Record<string, ConfigFileLike | null | undefined>> | null;
}

/** Deterministic 32-byte hash of a remote configuration. */
export function configHash(map: ConfigMapLike): Buffer {
  const files = map.configMap ?? {};
  const entries = Object.keys(files).map((name) => ({ name: Buffer.from(name, 'utf8'), file: files[name] }));
  entries.sort((a, b) => Buffer.compare(a.name, b.name));

  const hash = createHash('sha256');
  hash.update(CONFIG_HASH_TAG);
  hash.update(u64be(entries.length));
  for (const { name, file } of entries) {
    const contentType = Buffer.from(file?.contentType ?? '', 'utf8');
    const body = file?.body ?? EMPTY;
    hash.update(u64be(name.length)).update(name);
    hash.update(u64be(contentType.length)).update(contentType);
    hash.update(u64be(body.length)).update(body);
  }
  return hash.digest();
}

const EMPTY = new Uint8Array(0);

function u64be(n: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(n));
  return out;
}
