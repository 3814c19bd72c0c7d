/** The client library: everything a program needs to talk to the chat cluster. */
export * from './api.js';
export { ChatClient, DEFAULT_DEADLINE_MS, DEFAULT_RETRY_BUDGET_MS } from './chat-client.js';
export { ClusterClient, STATUS_PROBE_DEADLINE_MS, type EventWatchHandlers } from './cluster-client.js';
export { tlsFromFiles, TlsFilesError, type TlsFiles } from './credentials.js';
export { MESSAGE_MAX_CHARACTERS, MESSAGE_MAX_UTF8_BYTES, messageSize, type MessageSize } from './limits.js';
