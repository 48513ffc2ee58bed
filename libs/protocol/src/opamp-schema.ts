/**
 * Owns the public view of the generated OpAMP protobuf code: the `opamp`
 * namespace (classes with static encode/decode) and short aliases for the
 * types callers use most.
 *
 * The generated files under ./generated are produced by `nx run
 * protocol:codegen` and never committed.
 */
import './protobuf-numbers';
import { opamp } from './generated/opamp';

export { opamp };

const v1 = opamp.proto.v1;

// Value aliases (classes and enums) so callers can write `AgentToServer.create(...)`.
export const AgentToServer = v1.AgentToServer;
export const ServerToAgent = v1.ServerToAgent;
export const AgentConfigMap = v1.AgentConfigMap;
export const AgentConfigFile = v1.AgentConfigFile;
export const ServerErrorResponseType = v1.ServerErrorResponseType;
export const RemoteConfigStatuses = v1.RemoteConfigStatuses;
export const ConnectionSettingsStatuses = v1.ConnectionSettingsStatuses;
export const PackageStatusEnum = v1.PackageStatusEnum;
export const PackageType = v1.PackageType;
export const CommandType = v1.CommandType;

// Type aliases: the decoded class instances and the plain "I*" property shapes.
export type AgentToServer = opamp.proto.v1.AgentToServer;
export type ServerToAgent = opamp.proto.v1.ServerToAgent;
export type AgentConfigMap = opamp.proto.v1.AgentConfigMap;
export type AgentConfigFile = opamp.proto.v1.AgentConfigFile;
export type ServerErrorResponseType = opamp.proto.v1.ServerErrorResponseType;
export type RemoteConfigStatuses = opamp.proto.v1.RemoteConfigStatuses;
export type ConnectionSettingsStatuses = opamp.proto.v1.ConnectionSettingsStatuses;
export type PackageStatusEnum = opamp.proto.v1.PackageStatusEnum;
export type PackageType = opamp.proto.v1.PackageType;
export type CommandType = opamp.proto.v1.CommandType;
export type IAgentToServer = opamp.proto.v1.IAgentToServer;
export type IServerToAgent = opamp.proto.v1.IServerToAgent;
export type IAgentConfigMap = opamp.proto.v1.IAgentConfigMap;
export type IAgentConfigFile = opamp.proto.v1.IAgentConfigFile;
export type IAgentDescription = opamp.proto.v1.IAgentDescription;
export type IComponentHealth = opamp.proto.v1.IComponentHealth;
export type IRemoteConfigStatus = opamp.proto.v1.IRemoteConfigStatus;
export type IAgentRemoteConfig = opamp.proto.v1.IAgentRemoteConfig;
export type IConnectionSettingsOffers = opamp.proto.v1.IConnectionSettingsOffers;
export type IPackagesAvailable = opamp.proto.v1.IPackagesAvailable;
export type IKeyValue = opamp.proto.v1.IKeyValue;
export type IAnyValue = opamp.proto.v1.IAnyValue;
