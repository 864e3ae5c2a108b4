/**
 * Modules an action needs, imported when it runs: registering the commands (all `--help` and
 * `--version` do) imports none of them, nor anything of the engine.
 */
export const nodeFiles = () => import('../api/node-files.js');
export const specs = () => import('../api/specs.js');
export const runnerPrestart = () => import('../api/runner-prestart.js');
