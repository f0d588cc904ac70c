import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * Every Redis wait is bounded: a command (also one queued while reconnecting) fails after
 * `commandTimeoutMs`, a connection attempt after `connectTimeoutMs`. ioredis keeps reconnecting
 * in the background; a lost connection is logged once, and again only after it was back.
 */
export function boundedRedisClient(url: string, bounds: { commandTimeoutMs: number; connectTimeoutMs: number }, purpose = 'rate-limit counters'): Redis {
  const client = new Redis(url, {
    commandTimeout: bounds.commandTimeoutMs,
    connectTimeout: bounds.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  const logger = new Logger('Redis');
  let connected = true;
  client.on('error', (err: Error) => {
    if (!connected) return;
    connected = false;
    logger.warn({ err: { message: err.message } }, `redis connection lost (${purpose}); reconnecting in the background`);
  });
  client.on('ready', () => {
    if (!connected) logger.log(`redis connection restored (${purpose})`);
    connected = true;
  });
  return client;
}
