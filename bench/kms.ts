/**
 * Signatures per second: a cosign key file versus KMS keys behind real KMS API servers on loopback
 * (local-kms, and moto, whose signatures do not verify because it ignores MessageType DIGEST, so
 * it is measured with the signer's own signature check off). Each signer signs a cosign-sized
 * payload for BENCH_SECONDS at 1 and 8 calls in flight. Markdown to stdout, JSON to
 * bench/results/kms.json.
 *   npm run bench:kms        (BENCH_SECONDS=5 by default)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileSigner, writeKeyPair } from '../src/keys/file-signer';
import { KmsSigner } from '../src/keys/kms-signer';
import { verifySignature } from '../src/keys/public-key';
import type { Signer } from '../src/keys/signer';
import { createTestKey, type KmsTestServer } from '../test/support/kms-server';
import { localKmsPath, startLocalKms } from '../test/support/local-kms';
import { motoPath, startMoto } from '../test/support/moto';

const PAYLOAD = Buffer.from(
  JSON.stringify({
    critical: {
      identity: { 'docker-reference': '127.0.0.1:5000/apps/hello' },
      image: { 'docker-manifest-digest': `sha256:${'ab'.repeat(32)}` },
      type: 'cosign container image signature',
    },
    optional: null,
  }),
);
const LEVELS = [1, 8];

interface Row {
  signer: string;
  inFlight: number;
  signatures: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
}

async function measure(name: string, signer: Signer, inFlight: number, seconds: number): Promise<Row> {
  const latencies: number[] = [];
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        await signer.sign(PAYLOAD);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  return { signer: name, inFlight, signatures: latencies.length, perSecond: latencies.length / elapsed, p50Ms: pick(50), p95Ms: pick(95) };
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-bench-kms-'));
  const signers: Array<[string, Signer]> = [];
  const servers: KmsTestServer[] = [];
  try {
    await writeKeyPair(dir, 'file', 'bench-only');
    signers.push(['cosign key file', await FileSigner.load(path.join(dir, 'file.key'), 'bench-only')]);
    if (localKmsPath()) {
      const kms = await startLocalKms();
      servers.push(kms);
      signers.push(['KMS via local-kms', new KmsSigner((await createTestKey(kms)).ref, { env: kms.env })]);
    } else console.error('local-kms not installed: skipped (bash scripts/toolchain.sh local-kms)');
    if (motoPath()) {
      const moto = await startMoto();
      servers.push(moto);
      signers.push(['KMS via moto (signature check off)', new KmsSigner((await createTestKey(moto)).ref, { env: moto.env, checkSignatures: false })]);
    } else console.error('moto not installed: skipped (bash scripts/toolchain.sh moto)');

    const rows: Row[] = [];
    for (const [name, signer] of signers) {
      const pem = await signer.publicKeyPem(); // key check and public key outside the timing
      const sample = await signer.sign(PAYLOAD);
      if (!name.includes('moto') && !verifySignature(pem, PAYLOAD, sample)) throw new Error(`${name}: signature does not verify`);
      for (const inFlight of LEVELS) rows.push(await measure(name, signer, inFlight, seconds));
    }

    console.log('| signer | in flight | signatures/s | p50 | p95 |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.signer} | ${r.inFlight} | ${r.perSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} ms | ${r.p95Ms.toFixed(2)} ms |`);
    const out = path.join(__dirname, 'results', 'kms.json');
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: os.cpus().length, seconds, rows }, null, 2));
  } finally {
    for (const s of servers) await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
