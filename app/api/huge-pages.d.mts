// Types of huge-pages.mjs (plain JavaScript: the CLI's bin.mjs imports it before anything is built).
export declare const RELAUNCHED: 'CKA_WORKBENCH_RELAUNCHED';
export declare function transparentHugePageMode(): string | null;
export declare function commandOf(args: readonly string[]): string | null;
export declare const SMALL_PROBE: number;
export declare function probeExamplesOf(args: readonly string[]): number | null;
export interface RelaunchFacts {
  platform?: string;
  thpMode?: string | null;
  glibc?: readonly [number, number] | null;
}
export declare function relaunchEnv(
  args: readonly string[],
  env: Record<string, string | undefined>,
  facts?: RelaunchFacts,
): Record<string, string | undefined> | null;
export declare function hugePagesEnv(
  env: Record<string, string | undefined>,
  facts?: RelaunchFacts,
): Record<string, string | undefined> | null;
export declare function relaunch(env: Record<string, string | undefined>): void;
export declare function followParent(): void;
