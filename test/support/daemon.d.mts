// Types for daemon.mjs.
export declare function pidAlive(pid: number): boolean;
export declare function readPid(pidFile: string): number | undefined;
export declare function waitUntilAnswers(options: {
  pid: number;
  answers: () => Promise<boolean>;
  timeoutMs: number;
  logFile: string;
  serverLog?: string;
  what: string;
  where: string;
}): Promise<void>;
export declare function readFrom(file: string, start: number): string;
export declare function portFree(host: string, port: number): Promise<boolean>;
export declare function startOnFixedPorts<T>(options: {
  host: string;
  ports: number[];
  logFiles: string[];
  spawnServer: () => number;
  waitReady: (pid: number, timeoutMs: number) => Promise<T>;
  timeoutMs: number;
  what: string;
  log: (msg: string) => void;
}): Promise<T>;
export declare function stopDaemon(options: {
  pidFile: string;
  timeoutMs: number;
  log: (msg: string) => void;
  what: string;
}): Promise<void>;
