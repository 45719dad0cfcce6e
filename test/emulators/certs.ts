// Throwaway TLS material for the HTTPS emulators: a CA and a server certificate for
// localhost / 127.0.0.1 / ::1 signed by it, made with the `openssl` command line tool.
//
// A process trusts the CA when started with NODE_EXTRA_CA_CERTS=<caCertPath> (Node reads
// that variable only at start-up), or per request with an agent that has `ca` set.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  /** PEM file of the CA certificate: the value for NODE_EXTRA_CA_CERTS. */
  caCertPath: string;
  /** PEM files of the server's private key and certificate. */
  keyPath: string;
  certPath: string;
  /** The same three files' contents. */
  ca: string;
  key: string;
  cert: string;
  /** Deletes the directory. */
  cleanup(): Promise<void>;
}

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid, issuer',
].join('\n');

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr || String(error)}`, { cause: error });
  }
}

/** Creates a fresh CA and server certificate (valid two days) in a new temporary directory. */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hookline-certs-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2',
      '-subj', '/CN=hookline test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(['req', '-new', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  await writeFile(path.join(dir, 'server.ext'), SERVER_EXTENSIONS);
  await openssl(
    [
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
      '-out', 'cert.pem', '-days', '2', '-extfile', 'server.ext',
    ],
    dir,
  );
  const caCertPath = path.join(dir, 'ca.pem');
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  const [ca, key, cert] = await Promise.all([caCertPath, keyPath, certPath].map((p) => readFile(p, 'utf8')));
  return {
    dir,
    caCertPath,
    keyPath,
    certPath,
    ca: ca ?? '',
    key: key ?? '',
    cert: cert ?? '',
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

let shared: Promise<TestCertificates> | undefined;

/**
 * One set of certificates per process (each vitest worker is a process), created on first
 * use. Its directory is removed on a normal process exit only (vitest may end its workers
 * without one): prefer createTestCertificates() with cleanup() in afterAll.
 */
export function sharedTestCertificates(): Promise<TestCertificates> {
  if (!shared) {
    shared = createTestCertificates();
    shared.then(
      (certs) => process.once('exit', () => rmSync(certs.dir, { recursive: true, force: true })),
      () => undefined,
    );
  }
  return shared;
}
