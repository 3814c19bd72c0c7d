/** A thin promise wrapper over the generated ChatService client, for testing the handlers without the client library. */
import * as grpc from '@grpc/grpc-js';
import { ChatServiceClient, type ChatEvent, type Message } from '../../src/gen/chat/v1/chat.js';

export type RawError = grpc.ServiceError;

export function metadataFor(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

export class RawChat {
  readonly client: ChatServiceClient;

  constructor(address: string) {
    this.client = new ChatServiceClient(address, grpc.credentials.createInsecure());
  }

  call<Req, Res>(method: Unary<Req, Res>, req: Req, token?: string): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.client, req, metadataFor(token), { deadline: Date.now() + 5_000 }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  /** The error a call fails with; throws when it succeeds. */
  async failure<Req, Res>(method: Unary<Req, Res>, req: Req, token?: string): Promise<RawError> {
    try {
      await this.call(method, req, token);
    } catch (err) {
      return err as RawError;
    }
    throw new Error('expected the call to fail');
  }

  async createUser(username: string, password = `${username}-secret-pw`): Promise<string> {
    await this.call(this.client.createAccount, { username, password, idempotencyKey: '' });
    const login = await this.call(this.client.login, { username, password, idempotencyKey: '' });
    return login.token;
  }

  send(token: string, recipient: string, text: string, idempotencyKey = ''): Promise<Message> {
    return this.call(this.client.sendMessage, { recipient, text, idempotencyKey }, token).then((r) => r.message!);
  }

  subscribe(token: string | undefined, afterMessageId = 0): RawStream {
    return new RawStream(this.client.subscribe({ afterMessageId }, metadataFor(token)));
  }

  close(): void {
    this.client.close();
  }
}

/** A Subscribe stream that records what arrives and how it ended. */
export class RawStream {
  readonly messages: Message[] = [];
  readonly deleted: number[][] = [];
  readonly presence: { username: string; online: boolean }[] = [];
  readonly typing: string[] = [];
  status: grpc.StatusObject | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly call: grpc.ClientReadableStream<ChatEvent>) {
    call.on('data', (e: ChatEvent) => {
      if (e.event?.$case === 'message') this.messages.push(e.event.value);
      else if (e.event?.$case === 'deleted') this.deleted.push(e.event.value.ids);
      else if (e.event?.$case === 'presence') this.presence.push(e.event.value);
      else if (e.event?.$case === 'typing') this.typing.push(e.event.value.username);
      this.wake();
    });
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits (at most timeoutMs) until `done()` holds. */
  async until(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what} (got ${this.messages.length} messages, status ${this.status?.code ?? 'none'})`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  untilMessages(n: number, timeoutMs?: number): Promise<void> {
    return this.until(`${n} messages`, () => this.messages.length >= n, timeoutMs);
  }

  untilEnded(timeoutMs?: number): Promise<grpc.StatusObject> {
    return this.until('the stream to end', () => this.status !== undefined, timeoutMs).then(() => this.status!);
  }

  cancel(): void {
    this.call.cancel();
  }
}
