/** The generated fleet/v1 envelope types (from proto/fleet/v1). */
import './protobuf-numbers';
export { fleet } from './generated/fleet';
