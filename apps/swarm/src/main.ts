/** Entry point of the swarm command: runs it, stops it on SIGINT/SIGTERM (twice: at once). */
import { loadSwarmConfig, usage } from './config/swarm.config';
import { type CliOutput, startSwarmCli } from './swarm';

const out: CliOutput = {
  line: (text) => console.log(text),
  error: (text) => console.error(text),
};

async function main(): Promise<number> {
  const request = loadSwarmConfig();
  if (request.help) {
    out.line(usage());
    return 0;
  }
  const run = await startSwarmCli(request, out);
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) {
      out.error(`${signal} again: exiting now`);
      process.exit(130);
    }
    out.line(`${signal}: stopping the swarm`);
    void run.handle.stop();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGUSR2', () => run.markNow());
  const { exitCode } = await run.finished;
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    out.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
