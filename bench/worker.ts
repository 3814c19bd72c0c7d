/**
 * A load worker process (forked by bench/lib/workers.ts). It gets one job over
 * IPC, prepares it (clients connected, streams opened), says ready, runs it on
 * "start" until its duration ends or the parent says "stop", and sends back
 * every sample.
 */
import * as grpc from '@grpc/grpc-js';
import { ChatClient, type ChatMessage, type Subscription } from '../src/client/index.js';
import { sleep, waitFor, wallMs } from './lib/clock.js';
import { diskLoop } from './lib/disk.js';
import { echoClient } from './lib/echo.js';
import { EtcdKv } from './lib/etcd-client.js';
import {
  sentAtOf,
  timedText,
  type Job,
  type ListenResult,
  type ParentMessage,
  type SendResult,
  type SendUser,
  type WorkerMessage,
} from './lib/jobs.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    process.send!(message, undefined, {}, () => resolve());
  });
}

class Recorder {
  starts: number[] = [];
  latencies: number[] = [];
  ok: number[] = [];
  replica: number[] = [];
  ids: number[] = [];
  texts: string[] = [];
  failures: string[] = [];
  failureCount = 0;
  readonly replicas: string[] = [];

  constructor(private readonly keepTexts: boolean) {}

  replicaCode(id: string | undefined): number {
    if (id === undefined) return 255;
    let i = this.replicas.indexOf(id);
    if (i < 0) {
      this.replicas.push(id);
      i = this.replicas.length - 1;
    }
    return i;
  }

  add(start: number, latency: number, ok: boolean, replica: string | undefined, id: number, text: string): void {
    this.starts.push(start);
    this.latencies.push(latency);
    this.ok.push(ok ? 1 : 0);
    this.replica.push(this.replicaCode(replica));
    this.ids.push(id);
    if (this.keepTexts) this.texts.push(text);
  }

  fail(err: unknown): void {
    this.failureCount++;
    if (this.failures.length < 20)
      this.failures.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  }

  result(kind: SendResult['kind']): SendResult {
    return {
      kind,
      starts: Float64Array.from(this.starts),
      latencies: Float64Array.from(this.latencies),
      ok: Uint8Array.from(this.ok),
      replica: Uint8Array.from(this.replica),
      replicas: this.replicas,
      ids: Float64Array.from(this.ids),
      texts: this.texts,
      failures: this.failures,
      failureCount: this.failureCount,
    };
  }
}

function connectedReplica(client: ChatClient): string | undefined {
  const c = client.connection();
  return c.kind === 'connected' ? c.replicaId : undefined;
}

async function connectAll(clients: ChatClient[]): Promise<void> {
  await waitFor('the clients to find the leader', 30_000, () =>
    clients.every((c) => c.connection().kind === 'connected'),
  );
}

let stopRequested: () => void = () => undefined;
const stopped = new Promise<void>((resolve) => {
  stopRequested = resolve;
});
let isStopped = false;
void stopped.then(() => {
  isStopped = true;
});

let startRequested: () => void = () => undefined;
const started = new Promise<void>((resolve) => {
  startRequested = resolve;
});

async function runSend(job: Extract<Job, { kind: 'send' }>): Promise<SendResult> {
  const clients = job.users.map(
    (u) =>
      new ChatClient({
        servers: job.servers,
        token: u.token,
        deadlineMs: job.deadlineMs,
        retryBudgetMs: job.retryBudgetMs,
        ownConnection: true,
      }),
  );
  await connectAll(clients);
  await send({ type: 'ready' });
  await started;
  const rec = new Recorder(job.keepTexts);
  const end = job.durationMs === null ? Number.POSITIVE_INFINITY : wallMs() + job.durationMs;
  const loop = async (client: ChatClient, user: SendUser, l: number) => {
    let seq = 0;
    while (!isStopped && wallMs() < end) {
      seq++;
      const start = wallMs();
      const text = timedText(start, `${job.tag}/${user.username}/${l}/${seq}`, job.textBytes);
      try {
        const m = await client.sendMessage(user.recipient, text);
        rec.add(start, wallMs() - start, true, connectedReplica(client), m.id, text);
      } catch (err) {
        rec.add(start, wallMs() - start, false, connectedReplica(client), 0, text);
        rec.fail(err);
      }
    }
  };
  const loops: Promise<void>[] = [];
  job.users.forEach((user, u) => {
    for (let l = 0; l < job.loopsPerUser; l++) loops.push(loop(clients[u]!, user, l));
  });
  await Promise.all(loops);
  for (const c of clients) c.close();
  return rec.result('send');
}

async function runRate(job: Extract<Job, { kind: 'rate' }>): Promise<SendResult> {
  // One client per distinct session: a sender may write to many recipients.
  const byToken = new Map<string, ChatClient>();
  for (const u of job.users) {
    if (!byToken.has(u.token))
      byToken.set(u.token, new ChatClient({ servers: job.servers, token: u.token, retryBudgetMs: 15_000 }));
  }
  const clients = [...byToken.values()];
  await connectAll(clients);
  await send({ type: 'ready' });
  await started;
  const rec = new Recorder(false);
  const begin = wallMs();
  const total = Math.round((job.perSecond * job.durationMs) / 1000);
  const interval = 1000 / job.perSecond;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total && !isStopped; i++) {
    const due = begin + i * interval;
    const wait = due - wallMs();
    if (wait > 1) await sleep(wait);
    const user = job.users[i % job.users.length]!;
    const client = byToken.get(user.token)!;
    const start = wallMs();
    const text = timedText(start, `${job.tag}/${user.username}/0/${i}`, job.textBytes);
    pending.push(
      client.sendMessage(user.recipient, text).then(
        (m) => rec.add(start, wallMs() - start, true, connectedReplica(client), m.id, text),
        (err: unknown) => {
          rec.add(start, wallMs() - start, false, undefined, 0, text);
          rec.fail(err);
        },
      ),
    );
  }
  await Promise.all(pending);
  for (const c of clients) c.close();
  return rec.result('rate');
}

/** Clients a listen job brings online at a time. */
const LISTEN_GROUP = 50;

async function runListen(job: Extract<Job, { kind: 'listen' }>): Promise<ListenResult> {
  const stream: number[] = [];
  const ids: number[] = [];
  const sentAt: number[] = [];
  const receivedAt: number[] = [];
  const ended: string[] = [];
  let duplicates = 0;
  const clients: ChatClient[] = [];
  const subs: Subscription[] = [];
  // Clients come online a group at a time (each group connected before the next starts): a thousand
  // clients dialling every replica and asking for the leader in the same instant are a start-up storm
  // that swamps the replicas of a loaded 2-core machine, not the idle streams this job is for.
  const opened = Date.now();
  for (const [u, user] of job.users.entries()) {
    if (u > 0 && u % LISTEN_GROUP === 0) {
      const group = clients.slice(u - LISTEN_GROUP);
      await waitFor('a group of clients to find the leader', Math.max(1_000, 60_000 - (Date.now() - opened)), () =>
        group.every((c) => c.connection().kind === 'connected'),
      );
    }
    const client = new ChatClient({
      servers: job.servers,
      token: user.token,
      retryBudgetMs: 30_000,
      ownConnection: true,
    });
    clients.push(client);
    for (let s = 0; s < job.streamsPerUser; s++) {
      const streamIndex = u * job.streamsPerUser + s;
      const seen = new Set<number>();
      subs.push(
        client.subscribe(
          {
            onMessage: (m: ChatMessage) => {
              const now = wallMs();
              if (m.recipient.toLowerCase() !== user.username.toLowerCase()) return;
              if (seen.has(m.id)) {
                duplicates++;
                return;
              }
              seen.add(m.id);
              stream.push(streamIndex);
              ids.push(m.id);
              sentAt.push(sentAtOf(m.text) ?? Number.NaN);
              receivedAt.push(now);
            },
            onEnd: (err) => ended.push(`${user.username}: ${err.message}`),
          },
          { afterMessageId: job.afterMessageId },
        ),
      );
    }
  }
  await connectAll(clients);
  await send({ type: 'ready' });
  const progress = setInterval(() => void send({ type: 'progress', delivered: ids.length }), 200);
  await stopped;
  clearInterval(progress);
  for (const s of subs) s.close();
  for (const c of clients) c.close();
  return {
    kind: 'listen',
    stream: Uint32Array.from(stream),
    ids: Float64Array.from(ids),
    sentAt: Float64Array.from(sentAt),
    receivedAt: Float64Array.from(receivedAt),
    duplicates,
    ended,
  };
}

async function runEcho(job: Extract<Job, { kind: 'echo' }>): Promise<SendResult> {
  const client = echoClient(job.address);
  const payload = Buffer.alloc(job.payloadBytes, 'x');
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('authorization', 'Bearer 0123456789abcdef0123456789abcdef0123456789a');
      client.echo(payload, md, { deadline: Date.now() + 5_000 }, (err) => (err ? reject(err) : resolve()));
    });
  await waitFor('the echo server', 10_000, () => call().then(() => true));
  await send({ type: 'ready' });
  await started;
  const rec = new Recorder(false);
  const end = wallMs() + job.durationMs;
  const loop = async () => {
    while (wallMs() < end && !isStopped) {
      const start = wallMs();
      try {
        await call();
        rec.add(start, wallMs() - start, true, undefined, 0, '');
      } catch (err) {
        rec.add(start, wallMs() - start, false, undefined, 0, '');
        rec.fail(err);
      }
    }
  };
  await Promise.all(Array.from({ length: job.loops }, loop));
  client.close();
  return rec.result('echo');
}

/** The chat send loop's shape against etcd: a client per user, each put a new key with a value the size of a message. */
async function runEtcd(job: Extract<Job, { kind: 'etcd' }>): Promise<SendResult> {
  const clients = Array.from({ length: job.clients }, () => new EtcdKv(job.address));
  await waitFor('etcd to answer a put', 30_000, () =>
    clients[0]!.put(Buffer.from(`${job.tag}/ready`), Buffer.from('x'), 5_000).then(() => true),
  );
  await send({ type: 'ready' });
  await started;
  const rec = new Recorder(false);
  const end = wallMs() + job.durationMs;
  const loop = async (client: EtcdKv, c: number, l: number) => {
    let seq = 0;
    while (!isStopped && wallMs() < end) {
      seq++;
      const start = wallMs();
      const label = `${job.tag}/${c}/${l}/${seq}`;
      try {
        await client.put(Buffer.from(label), Buffer.from(timedText(start, label, job.valueBytes)), job.deadlineMs);
        rec.add(start, wallMs() - start, true, undefined, 0, '');
      } catch (err) {
        rec.add(start, wallMs() - start, false, undefined, 0, '');
        rec.fail(err);
      }
    }
  };
  const loops: Promise<void>[] = [];
  clients.forEach((client, c) => {
    for (let l = 0; l < job.loopsPerClient; l++) loops.push(loop(client, c, l));
  });
  await Promise.all(loops);
  for (const c of clients) c.close();
  return rec.result('etcd');
}

async function run(job: Job): Promise<void> {
  switch (job.kind) {
    case 'send':
      await send({ type: 'result', result: await runSend(job) });
      return;
    case 'rate':
      await send({ type: 'result', result: await runRate(job) });
      return;
    case 'listen':
      await send({ type: 'result', result: await runListen(job) });
      return;
    case 'echo':
      await send({ type: 'result', result: await runEcho(job) });
      return;
    case 'etcd':
      await send({ type: 'result', result: await runEtcd(job) });
      return;
    case 'disk':
      await send({ type: 'ready' });
      await started;
      await send({ type: 'result', result: diskLoop(job.dir, job.batch, job.durationMs, job.entryBytes) });
      return;
  }
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'job') {
    run(message.job).then(
      () => process.disconnect(),
      (err: Error) => {
        void send({ type: 'error', message: err.stack ?? err.message }).then(() => process.disconnect());
      },
    );
  } else if (message.type === 'start') {
    startRequested();
  } else if (message.type === 'stop') {
    stopRequested();
  }
});
process.on('disconnect', () => {
  // The parent went away: stop whatever runs and exit.
  stopRequested();
  setTimeout(() => process.exit(0), 2_000).unref();
});
