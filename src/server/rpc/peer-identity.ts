/**
 * Who a certificate names. Replicas and operators are named by URI subject
 * alternative names (README, "Security"):
 *
 *   chat://<cluster>/replica/<id>       a replica of the cluster (peer plane)
 *   chat://<cluster>/operator/<name>    an operator (cluster-changing calls)
 *
 * with the cluster name percent-encoded. A replica's certificate carries its
 * URI besides the IP address or DNS name clients verify it by.
 */
import type { PeerCertificate } from 'node:tls';

export type CertificateRole = 'replica' | 'operator';

/** The URI a certificate of this role and name carries. */
export function identityUri(cluster: string, role: CertificateRole, name: string): string {
  return `chat://${encodeURIComponent(cluster)}/${role}/${encodeURIComponent(name)}`;
}

/** The URIs among a certificate's subject alternative names (Node's `subjectaltname` text). */
export function certificateUris(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): string[] {
  const names = cert?.subjectaltname;
  if (typeof names !== 'string') return [];
  const uris: string[] = [];
  // "DNS:a, IP Address:127.0.0.1, URI:chat://chat/replica/A"; Node quotes values holding separators.
  for (const match of names.matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1]!;
    uris.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return uris;
}

/** The names of this role in this cluster that a certificate carries. */
export function certificateNames(
  cert: Pick<PeerCertificate, 'subjectaltname'> | undefined,
  cluster: string,
  role: CertificateRole,
): string[] {
  const prefix = identityUri(cluster, role, '');
  return certificateUris(cert)
    .filter((uri) => uri.startsWith(prefix) && uri.length > prefix.length)
    .map((uri) => {
      try {
        return decodeURIComponent(uri.slice(prefix.length));
      } catch {
        return '';
      }
    })
    .filter((name) => name !== '');
}
