/**
 * Makes protobufjs decode 64-bit integer fields as plain JS numbers.
 *
 * protobufjs returns `Long` objects whenever the `long` package is loadable,
 * whatever the generated typings say. Numbers are what the hot path wants
 * (capability masks, sequence numbers, epochs, millisecond times). Values above
 * 2^53 lose precision; the only such fields are nanosecond timestamps in
 * OpAMP's ComponentHealth, where that means a 256 ns step.
 *
 * Must be imported before any generated module is loaded, because generated
 * classes compute their defaults at load time.
 */
import * as protobufMinimal from 'protobufjs/minimal';

if (protobufMinimal.util.Long) {
  (protobufMinimal.util as { Long: unknown }).Long = undefined;
  protobufMinimal.configure();
}

export const PROTOBUF_NUMBERS_CONFIGURED = true;
