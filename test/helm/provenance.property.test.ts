/**
 * Property tests of what `helm verify` reads from outside: edits of the real `.prov` helm signed
 * (line and byte level) and of the real chart archive. parseProvenance parses or refuses with
 * PROVENANCE_INVALID / INPUT_TOO_LARGE; readChartArchive with CHART_INVALID; verifyChart reports
 * every check with a real code (none INTERNAL, the mark of an unexpected exception) and passes
 * only when neither the signed body nor the archive changed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { CountersignError } from '../../src/errors';
import { readChartArchive } from '../../src/helm/archive';
import { parseProvenance } from '../../src/helm/provenance';
import { verifyChart } from '../../src/helm/verify';
import { applyByteEdits, byteEdits, fuzzParams, parsesOrRefuses, parsesOrRefusesAsync } from '../support/fuzz';
import { DEMO_FILE, vector } from './helpers';

const PROV_ALLOWED = ['PROVENANCE_INVALID', 'INPUT_TOO_LARGE'];
const LINES = ['-----BEGIN PGP SIGNATURE-----', '-----END PGP SIGNATURE-----', '-----BEGIN PGP SIGNED MESSAGE-----', 'Hash: SHA256', '...', 'files:', 'x: &a [*a]', 'a: &a [1,2]\nb: [*a,*a,*a]', '- - -', '', '=AAAA', `  ${DEMO_FILE}: sha256:00`];

type LineEdit = { at: number; op: 'delete' | 'duplicate' | 'insert' | 'replace'; pick: number; text: string };
const lineEdits: fc.Arbitrary<LineEdit[]> = fc.array(
  fc.record({ at: fc.nat(), op: fc.constantFrom('delete', 'duplicate', 'insert', 'replace') as fc.Arbitrary<LineEdit['op']>, pick: fc.nat(), text: fc.string({ maxLength: 60 }) }),
  { minLength: 1, maxLength: 4 },
);

function applyLineEdits(text: string, edits: readonly LineEdit[]): string {
  const lines = text.split('\n');
  for (const e of edits) {
    const at = e.at % (lines.length + 1);
    const line = e.pick % 2 === 0 ? LINES[e.pick % LINES.length]! : e.text;
    if (e.op === 'delete') lines.splice(at, 1);
    else if (e.op === 'duplicate') lines.splice(at, 0, lines[at] ?? '');
    else if (e.op === 'insert') lines.splice(at, 0, line);
    else lines[at] = line;
  }
  return lines.join('\n');
}

const provText = fc.oneof(
  fc.tuple(fc.constant('lines' as const), lineEdits),
  fc.tuple(fc.constant('bytes' as const), byteEdits),
);

test('edits of the real .prov: parsed or refused, and verified only when the signed body is intact', async () => {
  const prov = (await vector(`${DEMO_FILE}.prov`)).toString('utf8');
  const archive = await vector(DEMO_FILE);
  const keyring = await vector('keyring.gpg');
  const original = await parseProvenance(prov);
  await fc.assert(
    fc.asyncProperty(provText, async ([kind, edits]) => {
      const text = kind === 'lines' ? applyLineEdits(prov, edits as LineEdit[]) : applyByteEdits(Buffer.from(prov), edits as never).toString('utf8');
      const parsed = await parsesOrRefusesAsync(() => parseProvenance(text), PROV_ALLOWED);
      if (parsed) assert.ok(Object.values(parsed.files).every((v) => typeof v === 'string'));
      const report = await verifyChart({ archive, fileName: DEMO_FILE, provenance: text, keyring, now: new Date('2100-01-01') });
      for (const check of report.checks) assert.notEqual(check.code, 'INTERNAL', check.message);
      if (report.ok) assert.equal(parsed?.body, original.body, 'verified, so the signed body is the one helm signed');
    }),
    fuzzParams(1500),
  );
});

test('fixed counterexample (fuzzer, seed -528174459): a byte edit that makes openpgp.verify itself throw "Invalid enum value" is PROVENANCE_SIGNATURE_INVALID, not INTERNAL', async () => {
  const prov = await vector(`${DEMO_FILE}.prov`);
  const text = applyByteEdits(prov, [{ op: 'set', at: 948021772, byte: 67 }, { op: 'number', at: 423378, pick: 0 }] as never).toString('utf8');
  const report = await verifyChart({ archive: await vector(DEMO_FILE), fileName: DEMO_FILE, provenance: text, keyring: await vector('keyring.gpg'), now: new Date('2100-01-01') });
  assert.equal(report.ok, false);
  const signature = report.checks.find((c) => !c.ok);
  assert.ok(signature && signature.code !== 'INTERNAL', JSON.stringify(report.checks));
  assert.ok(['PROVENANCE_SIGNATURE_INVALID', 'PROVENANCE_INVALID'].includes(signature.code ?? ''), JSON.stringify(signature));
});

test('edits of the real chart archive: read or CHART_INVALID; verify passes only for the signed bytes', async () => {
  const archive = await vector(DEMO_FILE);
  const prov = await vector(`${DEMO_FILE}.prov`);
  const keyring = await vector('keyring.gpg');
  await fc.assert(
    fc.asyncProperty(byteEdits, fc.boolean(), async (edits, verify) => {
      const edited = applyByteEdits(archive, edits);
      parsesOrRefuses(() => readChartArchive(edited, DEMO_FILE), ['CHART_INVALID']);
      if (!verify) return;
      const report = await verifyChart({ archive: edited, fileName: DEMO_FILE, provenance: prov, keyring, now: new Date('2100-01-01') });
      for (const check of report.checks) assert.notEqual(check.code, 'INTERNAL', check.message);
      if (report.ok) assert.ok(edited.equals(archive));
    }),
    fuzzParams(1500),
  );
});

test('fixed vector (test/vectors/fuzz/prov): a signature whose armor lines shifted names an undefined hash; PROVENANCE_INVALID, not "Invalid enum value"', async () => {
  const text = readFileSync(path.join(__dirname, '..', 'vectors', 'fuzz', 'prov', 'signature-line-shifted.prov'), 'utf8');
  await assert.rejects(parseProvenance(text, 'shifted.prov'), (e) => e instanceof CountersignError && e.code === 'PROVENANCE_INVALID' && /names hash algorithm \w+, which OpenPGP does not define/.test(e.message));
  const report = await verifyChart({ archive: await vector(DEMO_FILE), fileName: DEMO_FILE, provenance: text, keyring: await vector('keyring.gpg') });
  assert.deepEqual(report.checks.find((c) => c.name === 'signature')?.code, 'PROVENANCE_INVALID');
});
