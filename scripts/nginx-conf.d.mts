// Types of scripts/nginx-conf.mjs for the TypeScript tests.
export function fillSksTemplate(vars: Record<string, string>): string;
export function mainConf(prefix: string, httpBlock: string, o?: { workers?: number; connections?: number; logLevel?: string }): string;
export function writeClusterUpstream(file: string, nodes: string[], o?: { maxFails?: number; failTimeout?: string }): void;
export function ensureSelfSignedCert(cert: string, key: string, hostname: string): string;
export function nginxCommand(): { command: string; env: NodeJS.ProcessEnv };
