// The session store interfaces: values per key and session (an interval of activity), kept for a retention period.

export interface Session {
  start: number;
  end: number;
}

export interface SessionKeyValue<K, V> {
  key: K;
  session: Session;
  value: V;
}

export interface ReadOnlySessionStore<K, V> {
  readonly name: string;
  readonly retentionMs: number;
  /** Sessions of `key` that end at or after `earliestEnd` and start at or before `latestStart`, by end time. */
  findSessions(
    key: K,
    earliestEnd: number,
    latestStart: number,
  ): AsyncIterableIterator<SessionKeyValue<K, V>>;
  fetchSession(key: K, start: number, end: number): V | undefined;
}

export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V> {
  put(key: K, session: Session, value: V): void;
  remove(key: K, session: Session): void;
  flush(): void;
  close(): Promise<void>;
}
