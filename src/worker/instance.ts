import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Who holds a lease: host, process and a random part (pids repeat, e.g. PID 1 in every container). */
export function instanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Whether a lease owner is certainly dead: an instance on this host whose process is gone, or an
 * earlier life of this very PID. Owners on other hosts are left to lease expiry.
 */
export function isDeadLocalOwner(owner: string, self: string): boolean {
  const [host, pidText] = owner.split(':');
  const [myHost, myPid] = self.split(':');
  if (host !== myHost || owner === self) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (String(pid) === myPid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
