// Keeps secrets out of everything the HTTP layer stores or logs: the admin audit log's
// parameters, request URLs in logs. A value is hidden when its field is named like a secret
// (key, secret, macaroon, password, token…) or when it contains a configured secret's value —
// so an admin key pasted into a query string, a body field or a path is never written down.
import { Secret, type Config } from '../config.ts';

export const REDACTED = '[redacted]';

/** Field names that hold secrets. Public keys are named like keys but are not secret. */
const SECRET_NAME = /key|secret|macaroon|passw|token|seed|nsec|credential|authori[sz]ation|cookie/i;
const PUBLIC_NAME = /pub_?key/i;
const NSEC = /nsec1[02-9ac-hj-np-z]{20,}/gi;
/** Shorter secrets are only hidden where a whole value equals them (a substring would match too much). */
const MIN_SUBSTRING = 8;
const MAX_DEPTH = 8;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !PUBLIC_NAME.test(name);
}

/** Every Secret of a configuration, wherever it sits. */
export function configuredSecrets(config: Config): Secret[] {
  const found: Secret[] = [];
  const walk = (value: unknown, depth: number): void => {
    if (value instanceof Secret) found.push(value);
    else if (value && typeof value === 'object' && depth < MAX_DEPTH) {
      for (const inner of Object.values(value)) walk(inner, depth + 1);
    }
  };
  walk(config, 0);
  return found;
}

export interface Redactor {
  /** A copy of `value` (JSON-like) with every secret replaced by "[redacted]". */
  value(value: unknown): unknown;
  /** Text with every configured secret (and nsec) replaced. */
  text(text: string): string;
  /** A request URL with secret-named query values and configured secrets replaced. */
  url(url: string): string;
}

export function createRedactor(secrets: readonly (Secret | undefined)[]): Redactor {
  const values = [
    ...new Set(secrets.flatMap((s) => (s ? [s.reveal()] : [])).filter((v) => v.length > 0)),
  ].sort((a, b) => b.length - a.length); // longest first: a secret inside another is hidden whole
  const exact = new Set(values);
  const partial = values.filter((v) => v.length >= MIN_SUBSTRING);

  const text = (input: string): string => {
    if (exact.has(input)) return REDACTED;
    let out = input;
    for (const secret of partial) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.replace(NSEC, REDACTED);
  };

  const value = (input: unknown, depth = 0): unknown => {
    if (typeof input === 'string') return text(input);
    if (input === null || typeof input !== 'object') return input;
    if (depth >= MAX_DEPTH) return REDACTED;
    if (Array.isArray(input)) return input.map((item) => value(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(input)) {
      out[text(name)] = isSecretName(name) && inner !== undefined ? REDACTED : value(inner, depth + 1);
    }
    return out;
  };

  const url = (input: string): string => {
    const mark = input.indexOf('?');
    const path = mark < 0 ? input : input.slice(0, mark);
    const decoded = (part: string) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    };
    // A secret in a path segment (percent-encoded or not) goes too.
    const cleanPath = path
      .split('/')
      .map((segment) => (text(decoded(segment)) === decoded(segment) ? segment : encodeURI(REDACTED)))
      .join('/');
    if (mark < 0) return cleanPath;
    const query = input
      .slice(mark + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const name = decoded((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
        const raw = eq < 0 ? '' : pair.slice(eq + 1);
        const given = decoded(raw.replace(/\+/g, ' '));
        const hidden = (isSecretName(name) && raw !== '') || text(given) !== given;
        const cleanName = text(name) === name ? pair.slice(0, eq < 0 ? pair.length : eq) : 'redacted';
        return eq < 0 ? cleanName : `${cleanName}=${hidden ? encodeURIComponent(REDACTED) : raw}`;
      })
      .join('&');
    return `${cleanPath}?${query}`;
  };

  return { value: (input) => value(input), text, url };
}
