/**
 * Owns the rule for decodable AgentToServer messages whose values the fleet
 * cannot store: PostgreSQL text and jsonb cannot hold U+0000, its bigint
 * stops at 2^63-1, a status enum is kept in a smallint, an attribute becomes
 * a label whose value a btree index holds (at most ~2.7 KB a row), and a
 * protobuf map entry may arrive without its value.
 *
 * Such a message is not malformed protobuf, so the codec lets it through;
 * this check runs after decoding. What can be dropped is dropped, as small as
 * it can be: the list element or map entry holding the bad value (an
 * attribute, a component, a package, a config file), or the top-level report
 * when the bad string is its own field. The rest of the message stays good
 * and is stored, so its sequence number is not lost and ingest never sees a
 * gap that would ask for full state again. What cannot be dropped without
 * losing the message's meaning (sequence_num, capabilities beyond int64)
 * refuses the whole message.
 */
import type { opamp } from './opamp-schema';

/** PostgreSQL's bigint maximum is 2^63-1; as a JS number everything from 2^63 on is out of range. */
const INT64_LIMIT = 2 ** 63;
/**
 * Longest attribute key or string value kept (UTF-8 bytes). Attributes become
 * labels, and the label order indexes (host.name, service.name) refuse a row
 * beyond ~2,700 bytes, which failed the whole ingest batch the agent was in.
 */
export const MAX_ATTRIBUTE_BYTES = 2048;
/** Status enums are stored as smallint; OpAMP's are non-negative. Inside this range a future value is kept. */
const STATUS_ENUM_MAX = 32767;
const STATUS_REPORTS = ['remoteConfigStatus', 'connectionSettingsStatus'] as const;

export interface StorableCheck {
  /** Where values were dropped, each with why, e.g. `health.componentHealthMap["a"]: entry without a value`. */
  readonly dropped: string[];
  /** Set when the message cannot be stored at all: the reason. */
  readonly refused: string | null;
}

/**
 * Checks `message` and drops, in place, the parts that cannot be stored.
 * Returns what was dropped and whether the message must be refused whole.
 */
export function dropUnstorableValues(message: opamp.proto.v1.AgentToServer): StorableCheck {
  for (const field of ['sequenceNum', 'capabilities'] as const) {
    const value = Number(message[field] ?? 0);
    if (value >= INT64_LIMIT) {
      return { dropped: [], refused: `${field} ${value} is beyond the int64 range this server stores` };
    }
  }
  const dropped: string[] = [];
  const record = message as unknown as Record<string, unknown>;
  for (const key of STATUS_REPORTS) {
    const status = Number(message[key]?.status ?? 0);
    if (status < 0 || status > STATUS_ENUM_MAX) {
      dropped.push(`${key}: status ${status} is outside 0..${STATUS_ENUM_MAX}`);
      delete record[key];
    }
  }
  const description = message.agentDescription;
  if (description) {
    for (const list of ['identifyingAttributes', 'nonIdentifyingAttributes'] as const) {
      const attributes = description[list];
      if (!attributes) continue;
      for (let i = attributes.length - 1; i >= 0; i--) {
        const problem = oversizedAttribute(attributes[i]);
        if (problem) {
          dropped.push(`agentDescription.${list}[${i}]: ${problem}`);
          attributes.splice(i, 1);
        }
      }
    }
  }
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (key === 'instanceUid' || !isContainer(value)) continue;
    const problem = clean(value, key, dropped);
    if (problem) {
      dropped.push(`${key}: ${problem}`);
      delete record[key];
    }
  }
  return { dropped, refused: null };
}

/** Describes what `dropUnstorableValues` dropped, short enough for an error message. */
export function describeDropped(check: StorableCheck, max = 3): string {
  const shown = check.dropped.slice(0, max).join('; ');
  const more = check.dropped.length > max ? ` (and ${check.dropped.length - max} more)` : '';
  return `dropped values this server cannot store: ${shown}${more}`;
}

function oversizedAttribute(kv: opamp.proto.v1.IKeyValue): string | null {
  if (Buffer.byteLength(kv.key ?? '') > MAX_ATTRIBUTE_BYTES) return `key longer than ${MAX_ATTRIBUTE_BYTES} bytes`;
  const value = kv.value?.stringValue;
  if (typeof value === 'string' && Buffer.byteLength(value) > MAX_ATTRIBUTE_BYTES) return `value longer than ${MAX_ATTRIBUTE_BYTES} bytes`;
  return null;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value);
}

/** A protobuf map decodes to a plain object; a message to an instance of its class. */
function isMap(value: object): boolean {
  return !Array.isArray(value) && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);
}

const hasNul = (s: string) => s.includes('\u0000');

/**
 * Cleans a message, list or map in place. Returns why the value as a whole
 * must go (a string field of its own holds U+0000), or null when it can stay.
 */
function clean(value: object, path: string, dropped: string[]): string | null {
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--) {
      const item: unknown = value[i];
      const problem = typeof item === 'string' ? (hasNul(item) ? 'U+0000 in a string' : null) : isContainer(item) ? clean(item, `${path}[${i}]`, dropped) : null;
      if (problem) {
        dropped.push(`${path}[${i}]: ${problem}`);
        value.splice(i, 1);
      }
    }
    return null;
  }
  const record = value as Record<string, unknown>;
  if (isMap(value)) {
    for (const key of Object.keys(record)) {
      const entry = record[key];
      const at = `${path}[${JSON.stringify(key)}]`;
      const problem = hasNul(key)
        ? 'U+0000 in a map key'
        : entry === null || entry === undefined
          ? 'entry without a value'
          : typeof entry === 'string'
            ? hasNul(entry)
              ? 'U+0000 in a string'
              : null
            : isContainer(entry)
              ? clean(entry, at, dropped)
              : null;
      if (problem) {
        dropped.push(`${at}: ${problem}`);
        delete record[key];
      }
    }
    return null;
  }
  for (const key of Object.keys(record)) {
    const field = record[key];
    if (typeof field === 'string' && hasNul(field)) return `U+0000 in ${key}`;
    if (!isContainer(field)) continue;
    // A bad string deeper down takes its enclosing list element or map entry with it;
    // below a plain sub-message field it takes this message (the next level up decides).
    const problem = clean(field, `${path}.${key}`, dropped);
    if (problem) return `${key}: ${problem}`;
  }
  return null;
}
