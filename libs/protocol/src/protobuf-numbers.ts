/**
 * Owns the protobufjs runtime setting for 64-bit integers in this library.
 *
 * The generated code is built with `--force-number`, so its typings say
 * `number` for uint64/int64/fixed64. protobufjs nevertheless returns `Long`
 * objects at runtime whenever the `long` package can be loaded (it can: it is a
 * dependency of protobufjs). Turning Long support off makes the runtime match
 * the typings. Values above 2^53 lose precision; in OpAMP only the nanosecond
 * timestamps of ComponentHealth get that large (a ~256 ns step today).
 *
 * This must run before the generated module is loaded: generated classes
 * compute their 64-bit defaults at load time. `opamp-schema.ts` imports it first.
 * The setting is process-wide and idempotent (libs/contracts does the same).
 */
import * as protobufMinimal from 'protobufjs/minimal';

if (protobufMinimal.util.Long) {
  (protobufMinimal.util as { Long: unknown }).Long = undefined;
  protobufMinimal.configure();
}

/** True once 64-bit fields decode as plain numbers. */
export const LONG_AS_NUMBER = !protobufMinimal.util.Long;
