// A logger for tests that keeps what an app warned of, to assert on it and to say it when a wait times out.
/** A logger that keeps each warning and error: its message in `messages`, with its fields in `details`. */
export function capturingLogger(messages: string[], details: string[] = []) {
  const keep = (m: string, f?: Record<string, unknown>) => {
    messages.push(m);
    details.push(`${m} ${JSON.stringify(f ?? {})}`);
  };
  return { debug: () => {}, info: () => {}, warn: keep, error: keep };
}
