/**
 * The chatting users of a chaos run: each sends to the others one message at
 * a time (waiting for the answer), keeps a Subscribe stream open on a
 * separate client, and records what was acknowledged, what failed and what
 * arrived. Churn replaces a user's receiving client (a new login, the stream
 * resumed after the last id seen) or its sending client (a new login).
 */
import { ChatClient, type ChatMessage, type Subscription } from '../../src/client/index.js';
import { Rng } from '../../src/server/replication/rng.js';
import { sleep } from '../lib/clock.js';

export const CHAOS_PASSWORD = 'chaos-password-1';

export interface SentRecord {
  from: string;
  to: string;
  seq: number;
  text: string;
  /** Acknowledged with this id, or undefined when the send finally failed (it may or may not be stored). */
  id: number | undefined;
  error?: string;
}

export interface Received {
  message: ChatMessage;
  /** Which receiving client (generation) got it. */
  generation: number;
}

export class ChaosUser {
  readonly sent: SentRecord[] = [];
  readonly received: Received[] = [];
  private sender: ChatClient | undefined;
  private receiver: ChatClient | undefined;
  private subscription: Subscription | undefined;
  private generation = 0;
  private seq = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private replacingSender = false;
  streamEnds: string[] = [];

  constructor(
    readonly name: string,
    private readonly servers: string[],
    private readonly rng: Rng,
  ) {}

  private client(): ChatClient {
    return new ChatClient({ servers: this.servers, deadlineMs: 2_000, retryBudgetMs: 20_000 });
  }

  /**
   * Logs in until it works (the cluster may be down for a while). False when the client was closed meanwhile: a newer
   * reconnect replaced it, and its login no longer matters.
   */
  private async login(client: ChatClient, until: number): Promise<boolean> {
    for (;;) {
      try {
        await client.login(this.name, CHAOS_PASSWORD);
        return true;
      } catch (err) {
        if (client.connection().kind === 'closed') return false;
        if (Date.now() > until) throw new Error(`${this.name} could not log in: ${(err as Error).message}`);
        await sleep(200);
      }
    }
  }

  async open(): Promise<void> {
    const until = Date.now() + 120_000;
    this.sender = this.client();
    await this.login(this.sender, until);
    await this.reconnectReceiver(until);
  }

  /** A new receiving client with a new session; its stream resumes after the last id the old one delivered. */
  async reconnectReceiver(until = Date.now() + 120_000): Promise<void> {
    const after = this.subscription?.lastMessageId ?? 0;
    this.subscription?.close();
    this.receiver?.close();
    const generation = ++this.generation;
    const receiver = this.client();
    this.receiver = receiver;
    // A newer reconnect (a later churn while this one still waited for the cluster) closed this client: it carries on.
    if (!(await this.login(receiver, until)) || this.receiver !== receiver) return;
    this.subscription = receiver.subscribe(
      {
        onMessage: (message) => this.received.push({ message, generation }),
        onEnd: (err) => this.streamEnds.push(`${this.name} stream ${generation}: ${err.message}`),
      },
      { afterMessageId: after },
    );
  }

  /** Logs the sender in again on a new client, between two sends. */
  replaceSender(): void {
    this.replacingSender = true;
  }

  start(peers: () => string[], pauseMs: [number, number]): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        if (this.replacingSender) {
          this.replacingSender = false;
          const fresh = this.client();
          try {
            await this.login(fresh, Date.now() + 60_000);
            this.sender?.close();
            this.sender = fresh;
          } catch {
            fresh.close();
          }
        }
        const others = peers().filter((p) => p !== this.name);
        if (others.length > 0) {
          const to = this.rng.pick(others);
          const seq = ++this.seq;
          const text = `chaos ${this.name}>${to} #${seq}`;
          const record: SentRecord = { from: this.name, to, seq, text, id: undefined };
          this.sent.push(record);
          try {
            record.id = (await this.sender!.sendMessage(to, text)).id;
          } catch (err) {
            record.error = (err as Error).message;
          }
        }
        await sleep(this.rng.int(pauseMs[0], pauseMs[1]));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** The client to read history with (the sender's session). */
  reader(): ChatClient {
    return this.sender!;
  }

  close(): void {
    this.subscription?.close();
    this.receiver?.close();
    this.sender?.close();
  }
}
