/**
 * The gRPC side of FleetService (@nestjs/microservices): the same handlers as
 * REST. Every call gets a request id (the caller's `x-request-id` metadata
 * when sane), sent back in the response headers and, with an error, in the
 * trailers; an internal error's message names it and it is logged with it.
 */
import { Controller, Inject, Optional } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import type { FleetApiService } from '@opamp/desired-state';
import { jsonLog, type JsonLog } from '@opamp/process-runtime';
import { errorCode, GRPC_STATUS, logInternalError, publicMessage, REQUEST_ID_HEADER, requestIdFrom } from './api-errors';
import { invokeRpc } from './rpc-table';
import { openWatch, pumpWatch } from './watch-stream';
import { API_LOG, FLEET_API } from './platform-api.tokens';

type Req = Record<string, unknown>;
const S = 'FleetService';

/** What a handler gets as its third argument: the call, to send headers on. */
interface GrpcCall {
  sendMetadata(md: Metadata): void;
}

function requestIdMetadata(requestId: string): Metadata {
  const md = new Metadata();
  md.set(REQUEST_ID_HEADER, requestId);
  return md;
}

@Controller()
export class FleetGrpcController {
  constructor(
    @Inject(FLEET_API) private readonly api: FleetApiService,
    @Optional() @Inject(API_LOG) private readonly log: JsonLog = jsonLog,
  ) {}

  private async call(rpc: string, req: Req, metadata: Metadata, call?: GrpcCall): Promise<Req> {
    const requestId = requestIdFrom(metadata?.get(REQUEST_ID_HEADER)?.[0]);
    call?.sendMetadata(requestIdMetadata(requestId));
    try {
      const auth = metadata?.get('authorization')?.[0];
      return await invokeRpc(this.api, rpc, typeof auth === 'string' ? auth : auth?.toString(), req);
    } catch (err) {
      throw this.rpcError(err, rpc, requestId);
    }
  }

  private rpcError(err: unknown, rpc: string, requestId: string): RpcException {
    logInternalError(this.log, err, { transport: 'grpc', rpc, requestId });
    return new RpcException({ code: GRPC_STATUS[errorCode(err)], message: publicMessage(err, requestId), metadata: requestIdMetadata(requestId) });
  }

  @GrpcMethod(S, 'ListAgents') listAgents(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListAgents', r, m, c); }
  @GrpcMethod(S, 'GetAgent') getAgent(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetAgent', r, m, c); }
  @GrpcMethod(S, 'GetFleetSummary') getFleetSummary(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetFleetSummary', r, m, c); }
  @GrpcMethod(S, 'RestartAgent') restartAgent(r: Req, m: Metadata, c: GrpcCall) { return this.call('RestartAgent', r, m, c); }
  @GrpcMethod(S, 'SendCustomMessage') sendCustomMessage(r: Req, m: Metadata, c: GrpcCall) { return this.call('SendCustomMessage', r, m, c); }
  @GrpcMethod(S, 'DeleteAgent') deleteAgent(r: Req, m: Metadata, c: GrpcCall) { return this.call('DeleteAgent', r, m, c); }
  @GrpcMethod(S, 'GetTenantSettings') getTenantSettings(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetTenantSettings', r, m, c); }
  @GrpcMethod(S, 'UpdateTenantSettings') updateTenantSettings(r: Req, m: Metadata, c: GrpcCall) { return this.call('UpdateTenantSettings', r, m, c); }
  @GrpcMethod(S, 'CreateConfiguration') createConfiguration(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreateConfiguration', r, m, c); }
  @GrpcMethod(S, 'UpdateConfiguration') updateConfiguration(r: Req, m: Metadata, c: GrpcCall) { return this.call('UpdateConfiguration', r, m, c); }
  @GrpcMethod(S, 'GetConfiguration') getConfiguration(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetConfiguration', r, m, c); }
  @GrpcMethod(S, 'ListConfigurations') listConfigurations(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListConfigurations', r, m, c); }
  @GrpcMethod(S, 'ListConfigurationVersions') listConfigurationVersions(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListConfigurationVersions', r, m, c); }
  @GrpcMethod(S, 'DeleteConfiguration') deleteConfiguration(r: Req, m: Metadata, c: GrpcCall) { return this.call('DeleteConfiguration', r, m, c); }
  @GrpcMethod(S, 'ValidateConfiguration') validateConfiguration(r: Req, m: Metadata, c: GrpcCall) { return this.call('ValidateConfiguration', r, m, c); }
  @GrpcMethod(S, 'RenderConfiguration') renderConfiguration(r: Req, m: Metadata, c: GrpcCall) { return this.call('RenderConfiguration', r, m, c); }
  @GrpcMethod(S, 'CreateAssignment') createAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreateAssignment', r, m, c); }
  @GrpcMethod(S, 'UpdateAssignment') updateAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('UpdateAssignment', r, m, c); }
  @GrpcMethod(S, 'GetAssignment') getAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetAssignment', r, m, c); }
  @GrpcMethod(S, 'ListAssignments') listAssignments(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListAssignments', r, m, c); }
  @GrpcMethod(S, 'DeleteAssignment') deleteAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('DeleteAssignment', r, m, c); }
  @GrpcMethod(S, 'CreateConnectionProfile') createConnectionProfile(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreateConnectionProfile', r, m, c); }
  @GrpcMethod(S, 'UpdateConnectionProfile') updateConnectionProfile(r: Req, m: Metadata, c: GrpcCall) { return this.call('UpdateConnectionProfile', r, m, c); }
  @GrpcMethod(S, 'GetConnectionProfile') getConnectionProfile(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetConnectionProfile', r, m, c); }
  @GrpcMethod(S, 'ListConnectionProfiles') listConnectionProfiles(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListConnectionProfiles', r, m, c); }
  @GrpcMethod(S, 'DeleteConnectionProfile') deleteConnectionProfile(r: Req, m: Metadata, c: GrpcCall) { return this.call('DeleteConnectionProfile', r, m, c); }
  @GrpcMethod(S, 'CreateAgentToken') createAgentToken(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreateAgentToken', r, m, c); }
  @GrpcMethod(S, 'ListAgentTokens') listAgentTokens(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListAgentTokens', r, m, c); }
  @GrpcMethod(S, 'RevokeAgentToken') revokeAgentToken(r: Req, m: Metadata, c: GrpcCall) { return this.call('RevokeAgentToken', r, m, c); }
  @GrpcMethod(S, 'ListAgentCredentials') listAgentCredentials(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListAgentCredentials', r, m, c); }
  @GrpcMethod(S, 'RotateAgentCredentials') rotateAgentCredentials(r: Req, m: Metadata, c: GrpcCall) { return this.call('RotateAgentCredentials', r, m, c); }
  @GrpcMethod(S, 'RevokeAgentCredentials') revokeAgentCredentials(r: Req, m: Metadata, c: GrpcCall) { return this.call('RevokeAgentCredentials', r, m, c); }
  @GrpcMethod(S, 'ListPendingCredentialSwitches') listPendingCredentialSwitches(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListPendingCredentialSwitches', r, m, c); }
  @GrpcMethod(S, 'GetAgentCredentialsStatus') getAgentCredentialsStatus(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetAgentCredentialsStatus', r, m, c); }
  @GrpcMethod(S, 'ListAuditEvents') listAuditEvents(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListAuditEvents', r, m, c); }
  @GrpcMethod(S, 'CreateRollout') createRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreateRollout', r, m, c); }
  @GrpcMethod(S, 'GetRollout') getRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetRollout', r, m, c); }
  @GrpcMethod(S, 'ListRollouts') listRollouts(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListRollouts', r, m, c); }
  @GrpcMethod(S, 'StartRollout') startRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('StartRollout', r, m, c); }
  @GrpcMethod(S, 'PauseRollout') pauseRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('PauseRollout', r, m, c); }
  @GrpcMethod(S, 'ResumeRollout') resumeRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('ResumeRollout', r, m, c); }
  @GrpcMethod(S, 'AbortRollout') abortRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('AbortRollout', r, m, c); }
  @GrpcMethod(S, 'RollbackRollout') rollbackRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('RollbackRollout', r, m, c); }
  @GrpcMethod(S, 'ListRolloutEvents') listRolloutEvents(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListRolloutEvents', r, m, c); }
  @GrpcMethod(S, 'ListRolloutAgents') listRolloutAgents(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListRolloutAgents', r, m, c); }
  @GrpcMethod(S, 'CreatePackage') createPackage(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreatePackage', r, m, c); }
  @GrpcMethod(S, 'GetPackage') getPackage(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetPackage', r, m, c); }
  @GrpcMethod(S, 'ListPackages') listPackages(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListPackages', r, m, c); }
  @GrpcMethod(S, 'DeletePackage') deletePackage(r: Req, m: Metadata, c: GrpcCall) { return this.call('DeletePackage', r, m, c); }
  @GrpcMethod(S, 'CreatePackageVersion') createPackageVersion(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreatePackageVersion', r, m, c); }
  @GrpcMethod(S, 'GetPackageVersion') getPackageVersion(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetPackageVersion', r, m, c); }
  @GrpcMethod(S, 'ListPackageVersions') listPackageVersions(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListPackageVersions', r, m, c); }
  @GrpcMethod(S, 'WithdrawPackageVersion') withdrawPackageVersion(r: Req, m: Metadata, c: GrpcCall) { return this.call('WithdrawPackageVersion', r, m, c); }
  @GrpcMethod(S, 'CreatePackageAssignment') createPackageAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreatePackageAssignment', r, m, c); }
  @GrpcMethod(S, 'UpdatePackageAssignment') updatePackageAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('UpdatePackageAssignment', r, m, c); }
  @GrpcMethod(S, 'GetPackageAssignment') getPackageAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetPackageAssignment', r, m, c); }
  @GrpcMethod(S, 'ListPackageAssignments') listPackageAssignments(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListPackageAssignments', r, m, c); }
  @GrpcMethod(S, 'DeletePackageAssignment') deletePackageAssignment(r: Req, m: Metadata, c: GrpcCall) { return this.call('DeletePackageAssignment', r, m, c); }
  @GrpcMethod(S, 'GetAgentPackages') getAgentPackages(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetAgentPackages', r, m, c); }
  @GrpcMethod(S, 'CreatePackageRollout') createPackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreatePackageRollout', r, m, c); }
  @GrpcMethod(S, 'GetPackageRollout') getPackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetPackageRollout', r, m, c); }
  @GrpcMethod(S, 'ListPackageRollouts') listPackageRollouts(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListPackageRollouts', r, m, c); }
  @GrpcMethod(S, 'StartPackageRollout') startPackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('StartPackageRollout', r, m, c); }
  @GrpcMethod(S, 'PausePackageRollout') pausePackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('PausePackageRollout', r, m, c); }
  @GrpcMethod(S, 'ResumePackageRollout') resumePackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('ResumePackageRollout', r, m, c); }
  @GrpcMethod(S, 'AbortPackageRollout') abortPackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('AbortPackageRollout', r, m, c); }
  @GrpcMethod(S, 'RollbackPackageRollout') rollbackPackageRollout(r: Req, m: Metadata, c: GrpcCall) { return this.call('RollbackPackageRollout', r, m, c); }
  // Client certificates (issue 18).
  @GrpcMethod(S, 'CreateCertificateAuthority') createCertificateAuthority(r: Req, m: Metadata, c: GrpcCall) { return this.call('CreateCertificateAuthority', r, m, c); }
  @GrpcMethod(S, 'RotateCertificateAuthority') rotateCertificateAuthority(r: Req, m: Metadata, c: GrpcCall) { return this.call('RotateCertificateAuthority', r, m, c); }
  @GrpcMethod(S, 'ListCertificateAuthorities') listCertificateAuthorities(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListCertificateAuthorities', r, m, c); }
  @GrpcMethod(S, 'GetCertificatePolicy') getCertificatePolicy(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetCertificatePolicy', r, m, c); }
  @GrpcMethod(S, 'UpdateCertificatePolicy') updateCertificatePolicy(r: Req, m: Metadata, c: GrpcCall) { return this.call('UpdateCertificatePolicy', r, m, c); }
  @GrpcMethod(S, 'ListAgentCertificates') listAgentCertificates(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListAgentCertificates', r, m, c); }
  @GrpcMethod(S, 'ListCertificateRequests') listCertificateRequests(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListCertificateRequests', r, m, c); }
  @GrpcMethod(S, 'ApproveCertificateRequest') approveCertificateRequest(r: Req, m: Metadata, c: GrpcCall) { return this.call('ApproveCertificateRequest', r, m, c); }
  @GrpcMethod(S, 'DenyCertificateRequest') denyCertificateRequest(r: Req, m: Metadata, c: GrpcCall) { return this.call('DenyCertificateRequest', r, m, c); }
  // Certificate rotation (issue 18 item 4).
  @GrpcMethod(S, 'RotateAgentCertificates') rotateAgentCertificates(r: Req, m: Metadata, c: GrpcCall) { return this.call('RotateAgentCertificates', r, m, c); }
  @GrpcMethod(S, 'ListPendingCertificateSwitches') listPendingCertificateSwitches(r: Req, m: Metadata, c: GrpcCall) { return this.call('ListPendingCertificateSwitches', r, m, c); }
  @GrpcMethod(S, 'RevokeAgentCertificates') revokeAgentCertificates(r: Req, m: Metadata, c: GrpcCall) { return this.call('RevokeAgentCertificates', r, m, c); }
  @GrpcMethod(S, 'RevokeAgents') revokeAgents(r: Req, m: Metadata, c: GrpcCall) { return this.call('RevokeAgents', r, m, c); }
  @GrpcMethod(S, 'GetCertificateRevocationList') getCertificateRevocationList(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetCertificateRevocationList', r, m, c); }
  @GrpcMethod(S, 'GetPackageAssignmentStatus') getPackageAssignmentStatus(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetPackageAssignmentStatus', r, m, c); }
  @GrpcMethod(S, 'GetAgentOwnMetrics') getAgentOwnMetrics(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetAgentOwnMetrics', r, m, c); }
  @GrpcMethod(S, 'GetFleetOwnMetrics') getFleetOwnMetrics(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetFleetOwnMetrics', r, m, c); }
  @GrpcMethod(S, 'GetRolloutBatchOwnMetrics') getRolloutBatchOwnMetrics(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetRolloutBatchOwnMetrics', r, m, c); }
  @GrpcMethod(S, 'GetConfigurationVersionOwnMetrics') getConfigurationVersionOwnMetrics(r: Req, m: Metadata, c: GrpcCall) { return this.call('GetConfigurationVersionOwnMetrics', r, m, c); }

  /**
   * Server stream. Emits an event only when the call can take it (Nest's own
   * writer would buffer without bound); errors end the call with their status.
   */
  @GrpcMethod(S, 'WatchAgents')
  watchAgents(r: Req, m: Metadata, call: ServerWritableStream<Req, Req>): Observable<Req> {
    return new Observable<Req>((subscriber) => {
      let closed = false;
      let watch: Awaited<ReturnType<typeof openWatch>> | null = null;
      const auth = m?.get('authorization')?.[0];
      const requestId = requestIdFrom(m?.get(REQUEST_ID_HEADER)?.[0]);
      call.sendMetadata(requestIdMetadata(requestId));
      void (async () => {
        try {
          watch = await openWatch(this.api, 'WatchAgents', typeof auth === 'string' ? auth : auth?.toString(), r);
          if (closed) return watch.close();
          await pumpWatch(watch, {
            write: (event) => {
              subscriber.next(event as unknown as Req);
              return !call.writableNeedDrain;
            },
            drained: () =>
              new Promise<void>((resolve) => {
                const done = () => {
                  call.off('drain', done);
                  call.off('cancelled', done);
                  resolve();
                };
                call.on('drain', done);
                call.on('cancelled', done);
              }),
            closed: () => closed,
          });
          subscriber.complete();
        } catch (err) {
          subscriber.error(this.rpcError(err, 'WatchAgents', requestId));
        }
      })();
      return () => {
        closed = true;
        watch?.close();
      };
    });
  }
}
