import type { Readable } from 'node:stream';
import { ReceiveError } from '../errors.ts';

/**
 * Hands each chunk of a request body to `onChunk` as it arrives, refusing a body over `limit` bytes
 * (HL_BODY_TOO_LARGE): at once when its declared length says so, else when it gets there. Resolves
 * at the end of the body.
 */
export function readBody(stream: Readable, declared: number | undefined, limit: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  if (declared !== undefined && declared > limit) return Promise.reject(new ReceiveError('HL_BODY_TOO_LARGE'));
  return new Promise((resolve, reject) => {
    let received = 0;
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        stop();
        reject(new ReceiveError('HL_BODY_TOO_LARGE'));
      } else {
        onChunk(chunk);
      }
    };
    const onEnd = () => {
      stop();
      resolve();
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
