// Daemon credentials from configuration: a TLS certificate given as a file path, a PEM text or
// base64 of the PEM; a macaroon given as a file path, hex, or (lnd) base64. Errors name the
// variable, never the value.
import { existsSync, readFileSync } from 'node:fs';
import type { Secret } from '../config.ts';
import { StartupError } from '../errors.ts';

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';

function looksLikePath(value: string): boolean {
  return /^(\/|\.{1,2}\/|~\/|[A-Za-z]:\\)/.test(value) || /\.(cert|crt|pem|macaroon)$/i.test(value);
}

function readFile(variable: string, path: string): Buffer {
  if (!existsSync(path)) throw new StartupError(variable, `file not found: ${path}`);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StartupError(
      variable,
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** The PEM text of a certificate given as a path, a PEM or base64 of a PEM. */
export function loadCertificate(variable: string, secret: Secret): string {
  const value = secret.reveal().trim();
  let pem: string;
  if (value.startsWith(PEM_BEGIN)) pem = value;
  else if (looksLikePath(value)) pem = readFile(variable, value).toString('utf8');
  else if (/^[A-Za-z0-9+/=_-]+$/.test(value)) pem = Buffer.from(value, 'base64').toString('utf8');
  else throw new StartupError(variable, 'must be a file path, a PEM certificate or base64 of one');
  if (!pem.includes(PEM_BEGIN)) throw new StartupError(variable, 'is not a PEM certificate');
  return pem;
}

/**
 * The macaroon as hex, from a path (binary file as lnd/tapd write it), hex, or base64 when
 * `allowBase64`.
 */
export function loadMacaroon(
  variable: string,
  secret: Secret,
  options: { allowBase64?: boolean } = {},
): string {
  const value = secret.reveal().trim();
  if (/^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0) return value.toLowerCase();
  if (looksLikePath(value) || existsSync(value)) {
    const bytes = readFile(variable, value);
    // A macaroon file is binary; some operators keep the hex in a file instead.
    const text = bytes.toString('utf8').trim();
    return /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? text.toLowerCase() : bytes.toString('hex');
  }
  if (options.allowBase64 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length > 0) return bytes.toString('hex');
  }
  throw new StartupError(
    variable,
    `must be a file path${options.allowBase64 ? ', hex or base64' : ' or hex'} macaroon`,
  );
}
