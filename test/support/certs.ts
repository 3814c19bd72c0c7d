/**
 * A throwaway certificate authority and certificates it signs, made with
 * openssl, for TLS tests: the server certificate names 127.0.0.1 and the
 * replicas it may act as (chat://<cluster>/replica/<id>); more certificates
 * (an operator's, a user's, another replica's) come from `issue`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityUri } from '../../src/server/rpc/peer-identity.js';

export interface TestCertificate {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

export interface TestPki extends TestCertificate {
  dir: string;
  caPath: string;
  ca: Buffer;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A certificate signed by the CA in `dir`, with these subject alternative names (openssl syntax, e.g. `URI:chat://chat/operator/ops`). */
export function issue(pki: Pick<TestPki, 'dir'>, name: string, sans: string[]): TestCertificate {
  const { dir } = pki;
  openssl(dir, 'req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${sans.join(',')}\n`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/** The SAN of a replica's identity. */
export function replicaSan(id: string, cluster = 'chat'): string {
  return `URI:${identityUri(cluster, 'replica', id)}`;
}

/** The SAN of an operator's identity. */
export function operatorSan(name: string, cluster = 'chat'): string {
  return `URI:${identityUri(cluster, 'operator', name)}`;
}

/**
 * Writes ca.pem and server.pem/server.key into `dir`; the server certificate
 * names 127.0.0.1 and `replicas` (default A-E), so one certificate serves
 * every replica of a test cluster, as server and as client.
 */
export function makeTestPki(dir: string, replicas: string[] = ['A', 'B', 'C', 'D', 'E']): TestPki {
  openssl(dir, 'req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=chat test CA');
  const server = issue({ dir }, 'server', ['IP:127.0.0.1', ...replicas.map((id) => replicaSan(id))]);
  const caPath = join(dir, 'ca.pem');
  return { dir, caPath, ca: readFileSync(caPath), ...server };
}
