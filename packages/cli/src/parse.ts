// Parsers of option values: each throws INVALID_ARGUMENT naming the option.
import { invalidArgument } from './errors.js';

/** A commander parser of a positive integer (milliseconds, counts). */
export function positiveInteger(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      throw invalidArgument(`${option} must be a positive integer, got "${value}"`);
    }
    return n;
  };
}

/** A comma-separated list of names, none empty. */
export function nameList(option: string): (value: string) => string[] {
  return (value) => {
    const names = value.split(',').map((n) => n.trim());
    if (names.some((n) => n.length === 0))
      throw invalidArgument(`${option} must be a comma-separated list, got "${value}"`);
    return names;
  };
}

/** A timestamp: milliseconds since the epoch, or an ISO-8601 date-time. */
export function timestamp(option: string): (value: string) => number {
  return (value) => {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw invalidArgument(`${option} must be epoch milliseconds or an ISO-8601 date-time, got "${value}"`);
    }
    return ms;
  };
}

/** An http(s) base URL of an instance's operations server. */
export function urlList(option: string): (value: string) => string[] {
  return (value) =>
    nameList(option)(value).map((u) => {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        throw invalidArgument(`${option} must list http(s) URLs, got "${u}"`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw invalidArgument(`${option} must list http(s) URLs, got "${u}"`);
      }
      return url.href.replace(/\/$/, '');
    });
}

const APPLICATION_ID = /^[A-Za-z0-9._-]{1,200}$/;

/** An application id (also its consumer group id): letters, digits, '.', '_' and '-'. */
export function applicationId(option: string): (value: string) => string {
  return (value) => {
    if (!APPLICATION_ID.test(value)) {
      throw invalidArgument(`${option} must be 1-200 letters, digits, '.', '_' or '-', got "${value}"`);
    }
    return value;
  };
}
