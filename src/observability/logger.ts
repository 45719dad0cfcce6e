import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets are redacted by path wherever they might appear; webhook bodies are
 * never passed to the logger at info level (the receive path logs ids, types and outcomes only).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
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
          'headers["x-muro-signature"]',
          'headers["meru-signature"]',
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
