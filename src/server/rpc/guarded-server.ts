/**
 * Request decoding that never throws. grpc-js answers INTERNAL "Error
 * deserializing request" whenever a request deserializer throws (a truncated
 * message, a number above 2^53 - 1 that ts-proto refuses to round), and the
 * protobuf runtime decodes invalid UTF-8 into U+FFFD without a word. Here every
 * deserializer of a service added to a GuardedServer gives either the message
 * or a MalformedRequest saying what is wrong, our services' strings must be
 * valid UTF-8, and an interceptor answers a MalformedRequest with
 * INVALID_ARGUMENT before any handler sees it.
 */
import * as grpc from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';

/** What a guarded deserializer gives for bytes that are not a valid request. */
export class MalformedRequest {
  constructor(readonly problem: string) {}
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A reader whose strings must be valid UTF-8 (the runtime's own substitutes U+FFFD for bad bytes). */
export function strictReader(bytes: Uint8Array): BinaryReader {
  return new BinaryReader(bytes, (b) => strictUtf8.decode(b));
}

/** The problem a decoder's exception stands for, in words a caller can act on. */
export function decodeProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/MAX_SAFE_INTEGER|MIN_SAFE_INTEGER/.test(message)) {
    return 'a number in the request is beyond 2^53 - 1 (9007199254740991); ids and counts of this service are below that';
  }
  if (err instanceof TypeError && /encoded data was not valid|decode/i.test(message))
    return 'a text field of the request is not valid UTF-8';
  return `the request is not a valid protobuf message (${message})`;
}

/** Our own services (ts-proto, package chat.v1): decoded with the strict reader. */
const OWN_SERVICE = /^\/chat\.v1\./;

type Deserialize = (bytes: Buffer) => unknown;

/**
 * `deserialize` that gives a MalformedRequest instead of throwing. ts-proto's
 * deserializers are `Message.decode(bytes)`, and `decode` takes a reader as
 * well as bytes: handing it the strict reader is how our services refuse
 * invalid UTF-8 (test/rpc/client-plane-input.test.ts holds it to that).
 */
export function guardDeserializer(path: string, deserialize: Deserialize): Deserialize {
  const strict = OWN_SERVICE.test(path);
  return (bytes) => {
    try {
      return deserialize(strict ? (strictReader(bytes) as unknown as Buffer) : bytes);
    } catch (err) {
      return new MalformedRequest(decodeProblem(err));
    }
  };
}

/** A service definition whose request deserializers never throw. */
export function guardService<D extends grpc.ServiceDefinition>(service: D): D {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    guarded[name] = {
      ...method,
      requestDeserialize: guardDeserializer(method.path, method.requestDeserialize as Deserialize),
    };
  }
  return guarded as D;
}

/** Answers a MalformedRequest with INVALID_ARGUMENT and ends the call; the handler never sees it. */
export const refuseMalformed: grpc.ServerInterceptor = (_method, call) => {
  let refused = false;
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMessage: (message: unknown, pass: (message: unknown) => void) => {
          if (refused) return;
          if (message instanceof MalformedRequest) {
            refused = true;
            call.sendStatus({
              code: grpc.status.INVALID_ARGUMENT,
              details: message.problem,
              metadata: new grpc.Metadata(),
            });
            return;
          }
          pass(message);
        },
        onReceiveHalfClose: (pass: () => void) => {
          if (!refused) pass();
        },
      }),
  });
};

/**
 * A grpc.Server every service of which (ours, health, reflection) decodes with
 * guarded deserializers and refuses malformed requests with INVALID_ARGUMENT.
 */
export class GuardedServer extends grpc.Server {
  constructor(options: grpc.ServerOptions = {}) {
    super({ ...options, interceptors: [refuseMalformed, ...(options.interceptors ?? [])] });
  }

  override addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    super.addService(guardService(service), implementation);
  }
}
