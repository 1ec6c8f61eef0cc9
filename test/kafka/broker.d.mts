// Types for broker.mjs (kept as plain JavaScript so it runs before anything is installed).
export declare const brokerPort: number;
export declare function brokers(): string;
export declare function fetchJars(): void;
export declare function brokerAnswers(target?: string, timeoutMs?: number): Promise<boolean>;
export declare function startBroker(options?: {
  timeoutMs?: number;
}): Promise<{ brokers: string; started: boolean }>;
export declare function stopBroker(options?: { timeoutMs?: number; wipe?: boolean }): Promise<void>;
