// Types for registry.mjs (kept as plain JavaScript so it runs before anything is installed).
export declare const registryPort: number;
export declare function registryUrl(): string;
export declare function findJava(): { bin: string; major: number };
export declare function fetchRegistry(version?: string): string;
export declare function registryAnswers(url?: string, timeoutMs?: number): Promise<boolean>;
export declare function startRegistry(options?: {
  timeoutMs?: number;
}): Promise<{ url: string; started: boolean }>;
export declare function stopRegistry(options?: { timeoutMs?: number }): Promise<void>;
