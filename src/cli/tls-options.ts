/** The client TLS options chat-tui and chat-ops share, with their environment variables (read as tlsCa, tlsCert, tlsKey). */
import { Option } from 'commander';

export function tlsCaOption(): Option {
  return new Option('--tls-ca <file>', "PEM of the CA that signed the servers' certificates (enables TLS)").env(
    'CHAT_TLS_CA',
  );
}

export function tlsCertOption(): Option {
  return new Option('--tls-cert <file>', 'PEM client certificate, for servers that require one').env('CHAT_TLS_CERT');
}

export function tlsKeyOption(): Option {
  return new Option('--tls-key <file>', 'PEM key of the client certificate').env('CHAT_TLS_KEY');
}
