/**
 * `npm start`: the whole server in one process (embedded mode). Prints where
 * agents connect, where the API is, and the tokens to use; drains on SIGTERM.
 */
import { loadFleetServerConfig } from './config/fleet-server.config';
import { type ServerLog, startEmbeddedServer } from './embedded-server';

const log: ServerLog = (level, message, fields) => {
  const line = JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
};

async function main(): Promise<void> {
  const config = loadFleetServerConfig();
  const server = await startEmbeddedServer(config, log);
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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping', { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log('error', 'stop failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
