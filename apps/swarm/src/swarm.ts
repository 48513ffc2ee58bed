/**
 * The swarm command: runs a swarm (from @opamp/swarm) with the CLI's
 * configuration, prints a progress line per interval, measures convergence
 * when asked, and ends with a readable summary and the JSON report.
 */
import { writeFileSync } from 'node:fs';
import { formatProgress, formatSummary, runSwarm, type SwarmHandle, type SwarmReport } from '@opamp/swarm';
import type { SwarmCliConfig } from './config/swarm.config';

export interface CliOutput {
  line(text: string): void;
  error(text: string): void;
}

export interface SwarmCliRun {
  readonly handle: SwarmHandle;
  /** Resolves with the report and the exit code once the swarm stopped. */
  readonly finished: Promise<{ report: SwarmReport; exitCode: number }>;
  /** Mark convergence t0 now (SIGUSR2). */
  markNow(): void;
}

export async function startSwarmCli(config: SwarmCliConfig, out: CliOutput): Promise<SwarmCliRun> {
  const handle = await runSwarm(config.swarm);
  const plan = handle.plan;
  out.line(
    `swarm: ${plan.agents} agents → ${plan.endpoints.join(', ')} over ${plan.workers.length} workers from ${plan.addresses.join(' ')}; ` +
      `ramp ${config.swarm.rampPerSecond}/s, stops after ${Math.round((config.swarm.durationMs ?? 0) / 1000)} s`,
  );
  if (config.progress) handle.on('progress', (p) => out.line(formatProgress(p)));

  const converge = config.converge;
  const mark = (t0: number) => {
    if (!converge) return;
    const s = handle.markConvergenceStart(converge.hash, converge.selector, t0);
    out.line(`convergence: t0 ${new Date(t0).toISOString()}, ${s.targeted} agents targeted [${s.selector || 'all'}], hash ${s.hash}`);
  };
  if (converge) {
    if (converge.t0.kind === 'start') mark(handle.startAt);
    else if (converge.t0.kind === 'at') mark(converge.t0.epochMs);
    else {
      handle.waitConnected(config.swarm.durationMs ?? 0).then(
        () => mark(Date.now()),
        () => undefined,
      );
    }
    // Report convergence as it happens; stop on it when asked.
    const watch = () => {
      const c = handle.convergence();
      if (!c?.converged) return;
      out.line(`convergence: all ${c.targeted} targeted agents APPLIED ${c.hash.slice(0, 16)} in ${c.convergenceMs} ms`);
      handle.off('progress', watch);
      if (config.stopWhenConverged) void handle.stop();
    };
    handle.on('progress', watch);
  }

  const finished = handle.done.then((report) => {
    out.line(formatSummary(report));
    if (config.jsonPath) {
      writeFileSync(config.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
      out.line(`report written to ${config.jsonPath}`);
    }
    const last = report.convergence[report.convergence.length - 1];
    const exitCode = converge && !last?.converged ? 2 : 0;
    return { report, exitCode };
  });
  return { handle, finished, markNow: () => mark(Date.now()) };
}
