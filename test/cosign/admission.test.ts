/** The admission matrix (docs/cosign-interop.md, Admission controllers) as the worker's warnings read it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMISSION_CONTROLLERS, admissionRefusals, defaultFormatFor, isAdmissionController } from '../../src/cosign/admission';
import { SIGNATURE_FORMATS } from '../../src/cosign/formats';

test('which verifiers refuse each format, per admission controller: both is refused by none', () => {
  const matrix = Object.fromEntries(ADMISSION_CONTROLLERS.map((a) => [a, Object.fromEntries(SIGNATURE_FORMATS.map((f) => [f, admissionRefusals(a, f).map((r) => r.verifier)]))]));
  assert.deepEqual(matrix, {
    'policy-controller': { legacy: [], bundle: ['sigstore policy-controller v0.13.1 (key authorities)'], both: [] },
    kyverno: { legacy: ['Kyverno v1.19.1 ImageValidatingPolicy'], bundle: ['Kyverno v1.19.1 ClusterPolicy verifyImages type: Cosign'], both: [] },
    none: { legacy: [], bundle: [], both: [] },
  });
  for (const format of SIGNATURE_FORMATS) assert.deepEqual(admissionRefusals(undefined, format), []);
  for (const a of ADMISSION_CONTROLLERS) for (const f of SIGNATURE_FORMATS) for (const r of admissionRefusals(a, f)) assert.match(r.reason, /#\d+|referrers/, 'each refusal says why');
});

test('the default format: both with an admission controller, the fallback without one or with none', () => {
  assert.equal(defaultFormatFor('policy-controller', 'legacy'), 'both');
  assert.equal(defaultFormatFor('kyverno', 'legacy'), 'both');
  assert.equal(defaultFormatFor('none', 'legacy'), 'legacy');
  assert.equal(defaultFormatFor(undefined, 'legacy'), 'legacy');
  assert.equal(isAdmissionController('gatekeeper'), false);
  assert.equal(isAdmissionController('kyverno'), true);
});
