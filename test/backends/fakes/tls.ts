// A throwaway self-signed certificate for the TLS fakes, made with the openssl CLI (node:crypto
// cannot create X.509). Suites skip with a stated reason when openssl is missing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certPath: string;
  readonly dir: string;
  cleanup(): void;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const NO_OPENSSL = 'openssl CLI not found: the TLS wire fakes need it to make a test certificate';

/** An EC P-256 certificate for localhost and 127.0.0.1 (what lnd and tapd generate too). */
export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'arkrelay-tls-'));
  const certPath = join(dir, 'tls.cert');
  const keyPath = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return {
    certPem: readFileSync(certPath, 'utf8'),
    keyPem: readFileSync(keyPath, 'utf8'),
    certPath,
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
