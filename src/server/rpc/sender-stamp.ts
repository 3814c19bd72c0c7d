/** The sender's build and peer protocol, as every peer envelope states them (see PeerVersions for the receiving side). */
import { buildInfo, shortCommit } from '../../version/build-info.js';
import { PEER_PROTOCOL_VERSION } from '../versions.js';

export interface SenderStamp {
  senderVersion: string;
  senderCommit: string;
  protocolVersion: number;
}

let stamp: SenderStamp | undefined;

export function senderStamp(): SenderStamp {
  if (!stamp) {
    const { version, commit } = buildInfo();
    stamp = { senderVersion: version, senderCommit: shortCommit(commit), protocolVersion: PEER_PROTOCOL_VERSION };
  }
  return stamp;
}
