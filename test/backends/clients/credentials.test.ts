import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCertificate, loadMacaroon } from '../../../src/backends/credentials.ts';
import { Secret } from '../../../src/config.ts';
import { StartupError } from '../../../src/errors.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const MACAROON = Buffer.from('0201036c6e640258030a10', 'hex');
const dir = mkdtempSync(join(tmpdir(), 'arkrelay-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(fn: () => unknown): StartupError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StartupError) return error;
    throw error;
  }
  throw new Error('expected a StartupError');
}

describe('daemon credentials', () => {
  it('reads a certificate from a file, a PEM, or base64 of a PEM', () => {
    const path = join(dir, 'tls.cert');
    writeFileSync(path, PEM);
    expect(loadCertificate('LND_TLS_CERT', new Secret(path))).toBe(PEM);
    expect(loadCertificate('LND_TLS_CERT', new Secret(PEM))).toBe(PEM.trim());
    expect(loadCertificate('LND_TLS_CERT', new Secret(Buffer.from(PEM).toString('base64')))).toBe(PEM);
  });

  it('names the variable, never the value, when a certificate is unusable', () => {
    const missing = failure(() => loadCertificate('TAPD_TLS_CERT', new Secret('/nonexistent/tls.cert')));
    expect(missing.message).toBe('TAPD_TLS_CERT: file not found: /nonexistent/tls.cert');
    const notPem = failure(() => loadCertificate('TAPD_TLS_CERT', new Secret('c2VjcmV0LXZhbHVl')));
    expect(notPem.message).toBe('TAPD_TLS_CERT: is not a PEM certificate');
    expect(notPem.message).not.toContain('c2VjcmV0LXZhbHVl');
  });

  it('reads a macaroon from a binary file, a hex file, hex, or (lnd) base64', () => {
    const bin = join(dir, 'admin.macaroon');
    writeFileSync(bin, MACAROON);
    const hexFile = join(dir, 'hex.macaroon');
    writeFileSync(hexFile, `${MACAROON.toString('hex')}\n`);
    const want = MACAROON.toString('hex');
    expect(loadMacaroon('TAPD_MACAROON', new Secret(bin))).toBe(want);
    expect(loadMacaroon('TAPD_MACAROON', new Secret(hexFile))).toBe(want);
    expect(loadMacaroon('TAPD_MACAROON', new Secret(want.toUpperCase()))).toBe(want);
    expect(loadMacaroon('LND_MACAROON', new Secret(MACAROON.toString('base64')), { allowBase64: true })).toBe(
      want,
    );
  });

  it('refuses base64 for tapd (hex only) without echoing the value', () => {
    const error = failure(() => loadMacaroon('TAPD_MACAROON', new Secret('AgEDbG5kAlgDChA=')));
    expect(error.message).toBe('TAPD_MACAROON: must be a file path or hex macaroon');
  });
});
