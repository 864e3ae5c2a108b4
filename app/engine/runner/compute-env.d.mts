// Types of compute-env.mjs (plain JavaScript: the CLI's bin.mjs imports it before anything is built).
export declare function runnerTunables(tunables: string | undefined): string;
export declare function computeEnv<E extends Record<string, string | undefined>>(env: E): E;
