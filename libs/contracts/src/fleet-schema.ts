/** The generated fleet/v1 envelope types (from proto/fleet/v1). */
// Loading @opamp/protocol first switches protobufjs to plain numbers for
// 64-bit fields before the generated classes below compute their defaults.
import { LONG_AS_NUMBER } from '@opamp/protocol';
import { fleet } from './generated/fleet';

if (!LONG_AS_NUMBER) throw new Error('protobufjs must decode 64-bit fields as numbers');

export { fleet };
