/** A throwaway certificate authority and one certificate for 127.0.0.1, made with openssl, for TLS tests. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  caPath: string;
  certPath: string;
  keyPath: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Writes ca.pem, server.pem and server.key into `dir`; the certificate serves both as server and client identity. */
export function makeTestPki(dir: string): TestPki {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=chat test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
  const caPath = join(dir, 'ca.pem');
  const certPath = join(dir, 'server.pem');
  const keyPath = join(dir, 'server.key');
  return { caPath, certPath, keyPath, ca: readFileSync(caPath), cert: readFileSync(certPath), key: readFileSync(keyPath) };
}
