/**
 * How shells start model-runner processes: ahead of a command that will need them (runner/launcher.ts
 * `prelaunch`; a shell calls this first, before it imports the rest of the API), and with the
 * environment a runner should have (its malloc's settings, `runnerTunables`).
 */
import { prelaunch, runnerEntry } from '../engine/runner/launcher.js';

export { runnerTunables } from '../engine/runner/launcher.js';

/** Starts `count` runner processes with the environment the workbench's own runners get. */
export function prestartModelRunners(count: number): void {
  prelaunch(runnerEntry(), { env: {} }, count);
}
