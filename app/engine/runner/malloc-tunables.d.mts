// Types of malloc-tunables.mjs (plain JavaScript: the CLI's bin.mjs imports it before anything is built).
export declare function runnerTunables(tunables: string | undefined): string;
