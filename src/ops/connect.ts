/** The one place chat-ops creates its client, so commands and the dashboard take any ClusterApi. */
import type { ClientOptions, ClusterApi } from '../client/api.js';
import { ClusterClient } from '../client/index.js';

export function connect(options: ClientOptions): ClusterApi {
  return new ClusterClient(options);
}
