/**
 * A tiny gRPC echo service (raw bytes, no protobuf work): the transport's
 * ceiling for unary calls between the same processes on the same machine.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

export const ECHO_SERVICE = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

export function startEchoServer(address: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, call.request),
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve({ port, server }),
    );
  });
}

export interface EchoClient extends grpc.Client {
  echo(
    request: Buffer,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Buffer>,
  ): grpc.ClientUnaryCall;
}

export function echoClient(address: string): EchoClient {
  const Ctor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as EchoClient;
}
