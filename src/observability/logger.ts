import { knownSignatureHeaders } from '../sources/index.ts';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Redactor } from './redact.ts';

export type { Logger };

/**
 * Structured JSON logs. Every configured secret value is replaced in each line as written (a key in
 * a URL, in an error message, in a stack), and fields that hold secrets are redacted by path too;
 * webhook bodies are never passed to the logger at info level (the receive path logs ids, types
 * and outcomes only).
 */
export function createLogger(level: string, destination?: DestinationStream, redactor?: Redactor): Logger {
  return pino(
    {
      level,
      ...(redactor ? { hooks: { streamWrite: (line: string) => redactor.text(line) } } : {}),
      base: { service: 'hookline' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'secret',
          'secrets',
          '*.secret',
          '*.secrets',
          'token',
          '*.token',
          '*.access_token',
          '*.api_key',
          '*.routing_key',
          '*.webhook_url',
          'headers.authorization',
          'headers.cookie',
          ...knownSignatureHeaders.map((header) => `headers["${header}"]`),
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
