/** A callback-style grpc-js unary call as a promise. */
import type * as grpc from '@grpc/grpc-js';

export function unary<T>(
  start: (callback: (err: grpc.ServiceError | null, response: T) => void) => unknown,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, response) => (err ? reject(err) : resolve(response)));
  });
}

export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + Math.max(1, ms));
}
