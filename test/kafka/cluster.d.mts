// Types for cluster.mjs (kept as plain JavaScript so it runs before anything is installed).
export interface ClusterNode {
  id: number;
  port: number;
  controllerPort: number;
  address: string;
  dir: string;
  pidFile: string;
  logFile: string;
}
export interface PartitionMetadata {
  error: number;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}
export declare const clusterBasePort: number;
export declare function clusterNodes(size?: number): ClusterNode[];
export declare function clusterBrokers(size?: number): string;
export declare function startCluster(options?: {
  size?: number;
  timeoutMs?: number;
}): Promise<{ brokers: string; started: boolean }>;
export declare function waitUntilReady(ids: number[], timeoutMs?: number): Promise<void>;
export declare function stopCluster(options?: { timeoutMs?: number; wipe?: boolean }): Promise<void>;
export declare function stopNode(id: number, options?: { timeoutMs?: number }): Promise<void>;
export declare function killNode(id: number): Promise<void>;
export declare function restartNode(id: number, options?: { timeoutMs?: number }): Promise<void>;
export declare function runningNodes(): number[];
export declare function metadata(
  address: string,
  topics?: string[],
): Promise<{
  brokers: { id: number; host: string; port: number; rack: string | null }[];
  controller: number;
  topics: { error: number; topic: string; internal: boolean; partitions: PartitionMetadata[] }[];
}>;
export declare function partitionLeader(topic: string, partition?: number): Promise<number>;
export declare function inSyncReplicas(topic: string, partition?: number): Promise<number[]>;
export declare function coordinator(
  key: string,
  type?: 0 | 1,
  options?: { timeoutMs?: number },
): Promise<number>;
