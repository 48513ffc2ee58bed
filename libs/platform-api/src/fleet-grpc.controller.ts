/** The gRPC side of FleetService (@nestjs/microservices): the same handlers as REST. */
import { Controller, Inject, Logger } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { DesiredStateError, type FleetApiService } from '@opamp/desired-state';
import { errorCode, GRPC_STATUS, publicMessage } from './api-errors';
import { invokeRpc } from './rpc-table';
import { openWatch, pumpWatch } from './watch-stream';
import { FLEET_API } from './platform-api.tokens';

type Req = Record<string, unknown>;
const S = 'FleetService';

@Controller()
export class FleetGrpcController {
  private readonly logger = new Logger('grpc');

  constructor(@Inject(FLEET_API) private readonly api: FleetApiService) {}

  private async call(rpc: string, req: Req, metadata: Metadata): Promise<Req> {
    try {
      const auth = metadata?.get('authorization')?.[0];
      return await invokeRpc(this.api, rpc, typeof auth === 'string' ? auth : auth?.toString(), req);
    } catch (err) {
      if (!(err instanceof DesiredStateError)) this.logger.error(`${rpc}: ${err instanceof Error ? err.stack : String(err)}`);
      throw new RpcException({ code: GRPC_STATUS[errorCode(err)], message: publicMessage(err) });
    }
  }

  @GrpcMethod(S, 'ListAgents') listAgents(r: Req, m: Metadata) { return this.call('ListAgents', r, m); }
  @GrpcMethod(S, 'GetAgent') getAgent(r: Req, m: Metadata) { return this.call('GetAgent', r, m); }
  @GrpcMethod(S, 'GetFleetSummary') getFleetSummary(r: Req, m: Metadata) { return this.call('GetFleetSummary', r, m); }
  @GrpcMethod(S, 'RestartAgent') restartAgent(r: Req, m: Metadata) { return this.call('RestartAgent', r, m); }
  @GrpcMethod(S, 'SendCustomMessage') sendCustomMessage(r: Req, m: Metadata) { return this.call('SendCustomMessage', r, m); }
  @GrpcMethod(S, 'DeleteAgent') deleteAgent(r: Req, m: Metadata) { return this.call('DeleteAgent', r, m); }
  @GrpcMethod(S, 'GetTenantSettings') getTenantSettings(r: Req, m: Metadata) { return this.call('GetTenantSettings', r, m); }
  @GrpcMethod(S, 'UpdateTenantSettings') updateTenantSettings(r: Req, m: Metadata) { return this.call('UpdateTenantSettings', r, m); }
  @GrpcMethod(S, 'CreateConfiguration') createConfiguration(r: Req, m: Metadata) { return this.call('CreateConfiguration', r, m); }
  @GrpcMethod(S, 'UpdateConfiguration') updateConfiguration(r: Req, m: Metadata) { return this.call('UpdateConfiguration', r, m); }
  @GrpcMethod(S, 'GetConfiguration') getConfiguration(r: Req, m: Metadata) { return this.call('GetConfiguration', r, m); }
  @GrpcMethod(S, 'ListConfigurations') listConfigurations(r: Req, m: Metadata) { return this.call('ListConfigurations', r, m); }
  @GrpcMethod(S, 'ListConfigurationVersions') listConfigurationVersions(r: Req, m: Metadata) { return this.call('ListConfigurationVersions', r, m); }
  @GrpcMethod(S, 'DeleteConfiguration') deleteConfiguration(r: Req, m: Metadata) { return this.call('DeleteConfiguration', r, m); }
  @GrpcMethod(S, 'ValidateConfiguration') validateConfiguration(r: Req, m: Metadata) { return this.call('ValidateConfiguration', r, m); }
  @GrpcMethod(S, 'RenderConfiguration') renderConfiguration(r: Req, m: Metadata) { return this.call('RenderConfiguration', r, m); }
  @GrpcMethod(S, 'CreateAssignment') createAssignment(r: Req, m: Metadata) { return this.call('CreateAssignment', r, m); }
  @GrpcMethod(S, 'UpdateAssignment') updateAssignment(r: Req, m: Metadata) { return this.call('UpdateAssignment', r, m); }
  @GrpcMethod(S, 'GetAssignment') getAssignment(r: Req, m: Metadata) { return this.call('GetAssignment', r, m); }
  @GrpcMethod(S, 'ListAssignments') listAssignments(r: Req, m: Metadata) { return this.call('ListAssignments', r, m); }
  @GrpcMethod(S, 'DeleteAssignment') deleteAssignment(r: Req, m: Metadata) { return this.call('DeleteAssignment', r, m); }
  @GrpcMethod(S, 'CreateAgentToken') createAgentToken(r: Req, m: Metadata) { return this.call('CreateAgentToken', r, m); }
  @GrpcMethod(S, 'ListAgentTokens') listAgentTokens(r: Req, m: Metadata) { return this.call('ListAgentTokens', r, m); }
  @GrpcMethod(S, 'RevokeAgentToken') revokeAgentToken(r: Req, m: Metadata) { return this.call('RevokeAgentToken', r, m); }
  @GrpcMethod(S, 'ListAuditEvents') listAuditEvents(r: Req, m: Metadata) { return this.call('ListAuditEvents', r, m); }
  @GrpcMethod(S, 'CreateRollout') createRollout(r: Req, m: Metadata) { return this.call('CreateRollout', r, m); }
  @GrpcMethod(S, 'GetRollout') getRollout(r: Req, m: Metadata) { return this.call('GetRollout', r, m); }
  @GrpcMethod(S, 'ListRollouts') listRollouts(r: Req, m: Metadata) { return this.call('ListRollouts', r, m); }
  @GrpcMethod(S, 'StartRollout') startRollout(r: Req, m: Metadata) { return this.call('StartRollout', r, m); }
  @GrpcMethod(S, 'PauseRollout') pauseRollout(r: Req, m: Metadata) { return this.call('PauseRollout', r, m); }
  @GrpcMethod(S, 'ResumeRollout') resumeRollout(r: Req, m: Metadata) { return this.call('ResumeRollout', r, m); }
  @GrpcMethod(S, 'AbortRollout') abortRollout(r: Req, m: Metadata) { return this.call('AbortRollout', r, m); }
  @GrpcMethod(S, 'RollbackRollout') rollbackRollout(r: Req, m: Metadata) { return this.call('RollbackRollout', r, m); }
  @GrpcMethod(S, 'ListRolloutEvents') listRolloutEvents(r: Req, m: Metadata) { return this.call('ListRolloutEvents', r, m); }
  @GrpcMethod(S, 'ListRolloutAgents') listRolloutAgents(r: Req, m: Metadata) { return this.call('ListRolloutAgents', r, m); }

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
          if (!(err instanceof DesiredStateError)) this.logger.error(`WatchAgents: ${err instanceof Error ? err.stack : String(err)}`);
          subscriber.error(new RpcException({ code: GRPC_STATUS[errorCode(err)], message: publicMessage(err) }));
        }
      })();
      return () => {
        closed = true;
        watch?.close();
      };
    });
  }
}
