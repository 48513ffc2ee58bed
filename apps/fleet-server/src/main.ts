/**
 * `npm start`: the whole server in one process (embedded mode). Prints where
 * agents connect, where the API is, and the tokens to use; drains on SIGTERM.
 */
import { jsonLog as log, stopGracefullyOnSignals } from '@opamp/process-runtime';
import { loadFleetServerConfig } from './config/fleet-server.config';
import { startEmbeddedServer } from './embedded-server';

async function main(): Promise<void> {
  const config = loadFleetServerConfig();
  const starting = startEmbeddedServer(config, log);
  // From the start on: a signal while the database server starts must stop it too (after the start).
  stopGracefullyOnSignals(async () => (await starting).stop(), log, { message: 'stopping', failureMessage: 'stop failed' });
  const server = await starting;
  const { urls, credentials } = server;
  // The banner is the one place tokens are shown; logs never carry them.
  process.stdout.write(
    [
      '',
      'OpAMP fleet server (embedded mode: one process, data in ' + config.dataDir + ')',
      `  agents connect to   ${urls.opampWs}  (WebSocket)`,
      `                      ${urls.opampHttp}  (plain HTTP)`,
      `  agent token         ${credentials.agentToken}   tenant "${config.tenantId}", send as Authorization: Bearer <token>`,
      `  web console         ${urls.api.replace(/\/api\/v1$/, '/')}  (sign in with the admin token)`,
      `  REST API            ${urls.api}  (OpenAPI: ${urls.api}/openapi.json)`,
      `  gRPC API            ${urls.grpc}  (fleet.v1.FleetService)`,
      `  admin token         ${credentials.adminToken}`,
      `  metrics             ${urls.metrics}`,
      credentials.generated ? `  (tokens generated on first start, kept in ${config.dataDir}/credentials.json)` : '',
      '',
    ].join('\n') + '\n',
  );
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
