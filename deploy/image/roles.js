// The roles of the one image (deploy/Dockerfile): which built entry point each
// runs and how its health is asked for. Ports come from each app's own typed
// config module (loaded from the built tree), so the check follows the same
// environment variables and defaults as the process it checks.
const path = require('path');

// the same layout in the repo and in the image (/app/deploy/image, /app/dist/out-tsc)
const DIST = path.join(__dirname, '..', '..', 'dist', 'out-tsc');
const app = (name, file) => path.join(DIST, 'apps', name, 'src', file);

const ROLES = {
  gateway: {
    main: app('gateway', 'main.js'),
    // readiness turns false while draining; the admin port is never the agent port
    health: () => ({ port: require(app('gateway', 'config/gateway.config.js')).loadGatewayConfig().adminPort, path: '/readyz' }),
  },
  'status-ingest': {
    main: app('status-ingest', 'main.js'),
    health: () => {
      const { metrics } = require(app('status-ingest', 'config/status-ingest.config.js')).loadStatusIngestConfig();
      return metrics ? { port: metrics.port, path: '/healthz' } : null;
    },
  },
  'config-service': {
    main: app('config-service', 'main.js'),
    // served once migrations ran, tokens were registered and the reconciler started
    health: () => ({ port: require(app('config-service', 'config/config-service.config.js')).loadConfigServiceConfig().httpPort, path: '/api/v1/openapi.json' }),
  },
  'fleet-server': {
    main: app('fleet-server', 'main.js'),
    health: () => ({ port: require(app('fleet-server', 'config/fleet-server.config.js')).loadFleetServerConfig().adminPort, path: '/readyz' }),
  },
  // runs the schema migrations and exits (the Helm pre-install/pre-upgrade hook)
  migrate: { main: app('config-service', 'migrate.js'), health: () => null },
};

/** The role of this container: the first argument, else OPAMP_ROLE, else PID 1's (health checks run beside it). */
function roleOf(argv, env) {
  if (argv[0]) return argv[0];
  if (env.OPAMP_ROLE) return env.OPAMP_ROLE;
  try {
    const args = require('fs').readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    const at = args.findIndex((a) => a.endsWith('launch.js'));
    if (at >= 0 && args[at + 1]) return args[at + 1];
  } catch {
    // not in a container, or /proc hidden: the caller says the role is missing
  }
  return '';
}

module.exports = { DIST, ROLES, roleOf };
