// Types for daemon.mjs.
export declare function pidAlive(pid: number): boolean;
export declare function readPid(pidFile: string): number | undefined;
export declare function waitUntilAnswers(options: {
  pid: number;
  answers: () => Promise<boolean>;
  timeoutMs: number;
  logFile: string;
  what: string;
  where: string;
}): Promise<void>;
export declare function stopDaemon(options: {
  pidFile: string;
  timeoutMs: number;
  log: (msg: string) => void;
  what: string;
}): Promise<void>;
