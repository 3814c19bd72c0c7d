/**
 * One gRPC channel per replica address, shared by the chat and cluster
 * clients of that address, created on first use and kept until close.
 */
import * as grpc from '@grpc/grpc-js';
import { ChatServiceClient } from '../gen/chat/v1/chat.js';
import { ClusterServiceClient } from '../gen/chat/v1/cluster.js';

/** Quick reconnects (a restarted replica is used again within a second), keepalive to notice dead peers. */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  // Retries are the library's own business (with idempotency keys); keep grpc-js's transparent ones out.
  'grpc.enable_retries': 0,
};

interface Entry {
  channel: grpc.Channel;
  chat?: ChatServiceClient;
  cluster?: ClusterServiceClient;
}

export class ChannelPool {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  private readonly options: grpc.ChannelOptions;

  /** `ownConnection`: connections of this pool's own, not shared with the process's other clients. */
  constructor(
    private readonly credentials: grpc.ChannelCredentials,
    ownConnection = false,
  ) {
    this.options = ownConnection
      ? { ...CLIENT_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 }
      : CLIENT_CHANNEL_OPTIONS;
  }

  private entry(address: string): Entry {
    if (this.closed) throw new Error('the client was closed');
    let e = this.entries.get(address);
    if (!e) {
      e = { channel: new grpc.Channel(address, this.credentials, this.options) };
      this.entries.set(address, e);
    }
    return e;
  }

  chat(address: string): ChatServiceClient {
    const e = this.entry(address);
    e.chat ??= new ChatServiceClient(address, this.credentials, { channelOverride: e.channel });
    return e.chat;
  }

  cluster(address: string): ClusterServiceClient {
    const e = this.entry(address);
    e.cluster ??= new ClusterServiceClient(address, this.credentials, { channelOverride: e.channel });
    return e.cluster;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.channel.close();
    this.entries.clear();
  }
}
