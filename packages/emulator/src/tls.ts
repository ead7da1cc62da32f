/**
 * The TLS certificate the gRPC server presents. gRPC clients skip authentication on insecure channels,
 * so the emulator serves TLS with a self-signed certificate (SANs 127.0.0.1, ::1, localhost) and hands
 * clients credentials that trust exactly it.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from './state/persist.js';

/** A PEM certificate (self-signed, so it is its own CA) and its private key. */
export interface TlsMaterial {
  certPem: string;
  keyPem: string;
}

let processCert: Promise<TlsMaterial> | undefined;

async function generateCert(): Promise<TlsMaterial> {
  // Loaded on demand: the module costs ~250 ms to import and is not needed when the data dir has a certificate.
  const { generate } = await import('selfsigned');
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: 'Vertex Launch emulator (localhost)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

function stillValid(certPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return new Date(cert.validTo).getTime() > Date.now() + 24 * 3600_000;
  } catch {
    return false;
  }
}

/**
 * Returns the TLS material: read from `<dataDir>/tls` when present and valid, else generated
 * (once per process when there is no data dir) and saved there with owner-only permissions.
 */
export async function loadTls(dataDir: string | undefined): Promise<TlsMaterial> {
  if (dataDir === undefined) {
    processCert ??= generateCert();
    return processCert;
  }
  const dir = join(dataDir, 'tls');
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(join(dir, 'cert.pem'), 'utf8'),
      readFile(join(dir, 'key.pem'), 'utf8'),
    ]);
    if (stillValid(certPem)) return { certPem, keyPem };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const material = await generateCert();
  await ensurePrivateDir(dir);
  await writeFile(join(dir, 'cert.pem'), material.certPem, { mode: 0o600 });
  await writeFile(join(dir, 'key.pem'), material.keyPem, { mode: 0o600 });
  return material;
}
