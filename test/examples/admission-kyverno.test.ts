/**
 * The example Kyverno policies in examples/admission, checked as the Kubernetes API server checks
 * them on `kubectl apply` with strict field validation: against the OpenAPI v3 schemas of Kyverno
 * v1.19.1's own CRDs (test/vectors/kyverno-crds, taken from the kyverno Go module), with types,
 * enums, required fields and no unknown field. They must also ask for what countersign writes:
 * its predicate types and verifier id, the platform key in every attestor, and nothing a CEL
 * expression names that the policy does not declare. Whether Kyverno admits promoted images with
 * them is test/interop/admission-kyverno.test.ts (the CLI is built by the toolchain).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import YAML from 'yaml';
import { VSA_PREDICATE_TYPE, VSA_VERIFIER_ID } from '../../src/provenance/vsa';
import { APPROVAL_PREDICATE_TYPE } from '../../src/approval/constants';

const ROOT = path.resolve(__dirname, '../..');
const CRDS = path.join(ROOT, 'test/vectors/kyverno-crds');
const CLUSTER_POLICY = path.join(ROOT, 'examples/admission/kyverno-clusterpolicy.yaml');
const IMAGE_VALIDATING_POLICY = path.join(ROOT, 'examples/admission/kyverno-imagevalidatingpolicy.yaml');

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A structural schema as JSON Schema with the API server's rules: an object with properties and no
 * x-kubernetes-preserve-unknown-fields refuses other keys (strict field validation), int-or-string
 * is either, nullable admits null. CEL rules (x-kubernetes-validations) are the controller's to run.
 */
function asJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asJsonSchema);
  if (!isNode(node)) return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'format' || k === 'default') continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Node).map(([p, s]) => [p, asJsonSchema(s)])) : asJsonSchema(v);
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (out.type === 'object' && isNode(out.properties) && out.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

interface Crd {
  group: string;
  kind: string;
  version: string;
  openAPIV3Schema: Node;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
function validatorOf(file: string) {
  const crd = JSON.parse(fs.readFileSync(path.join(CRDS, file), 'utf8')) as Crd;
  const validate = ajv.compile(asJsonSchema(crd.openAPIV3Schema) as object);
  return {
    crd,
    problems(doc: unknown): string[] {
      const d = doc as Node;
      const own = d.apiVersion === `${crd.group}/${crd.version}` && d.kind === crd.kind ? [] : [`not a ${crd.group}/${crd.version} ${crd.kind}`];
      return validate(doc) ? own : [...own, ...(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`)];
    },
  };
}

const clusterPolicy = validatorOf('clusterpolicy-v1.json');
const imageValidatingPolicy = validatorOf('imagevalidatingpolicy-v1beta1.json');

const load = (file: string) => YAML.parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;

test('the example ClusterPolicy is a valid Kyverno v1.19.1 kyverno.io/v1 ClusterPolicy', () => {
  assert.deepEqual(clusterPolicy.problems(load(CLUSTER_POLICY)), []);
});

test('the example ImageValidatingPolicy is a valid Kyverno v1.19.1 policies.kyverno.io/v1beta1 ImageValidatingPolicy', () => {
  assert.deepEqual(imageValidatingPolicy.problems(load(IMAGE_VALIDATING_POLICY)), []);
});

test('the schema check refuses what the API server refuses: an unknown field, a value outside an enum, a missing required field, the wrong kind', () => {
  const cases: Array<[string, ReturnType<typeof validatorOf>, string, (p: Record<string, any>) => void, RegExp]> = [
    ['misspelt publicKeys', clusterPolicy, CLUSTER_POLICY, (p) => (p.spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKey = 'x'), /additional properties: publicKey/],
    ['lower-case type', clusterPolicy, CLUSTER_POLICY, (p) => (p.spec.rules[0].verifyImages[0].type = 'cosign'), /\/type must be equal to one of the allowed values/],
    ['a condition operator Kyverno lacks', clusterPolicy, CLUSTER_POLICY, (p) => (p.spec.rules[0].verifyImages[0].attestations[0].conditions[0].all[0].operator = 'Is'), /operator must be equal to one of the allowed values/],
    ['a rule without a name', clusterPolicy, CLUSTER_POLICY, (p) => delete p.spec.rules[0].name, /must have required property 'name'/],
    ['ignoreTlog as a string', clusterPolicy, CLUSTER_POLICY, (p) => (p.spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.rekor.ignoreTlog = 'true'), /ignoreTlog must be boolean/],
    ['no validations', imageValidatingPolicy, IMAGE_VALIDATING_POLICY, (p) => delete p.spec.validations, /must have required property 'validations'/],
    ['an attestation with neither name', imageValidatingPolicy, IMAGE_VALIDATING_POLICY, (p) => delete p.spec.attestations[0].name, /must have required property 'name'/],
    ['a key under cosign it does not have', imageValidatingPolicy, IMAGE_VALIDATING_POLICY, (p) => (p.spec.attestors[0].cosign.key.publicKeys = 'x'), /additional properties: publicKeys/],
    ['the v1alpha1 apiVersion', imageValidatingPolicy, IMAGE_VALIDATING_POLICY, (p) => (p.apiVersion = 'policies.kyverno.io/v1alpha1'), /not a policies\.kyverno\.io\/v1beta1 ImageValidatingPolicy/],
  ];
  for (const [what, validator, file, mutate, expected] of cases) {
    const policy = load(file);
    mutate(policy);
    const problems = validator.problems(policy);
    assert.ok(problems.some((p) => expected.test(p)), `${what}: ${JSON.stringify(problems)}`);
  }
});

test('the ClusterPolicy asks for the platform signature, the approved approval record and the passing VSA, each by the platform key', () => {
  const verify = load(CLUSTER_POLICY).spec.rules[0].verifyImages[0];
  assert.equal(verify.type, 'Cosign');
  assert.equal(verify.required, true);
  const keysOf = (attestors: any[]) => attestors.flatMap((a) => a.entries.map((e: any) => e.keys));
  for (const keys of [...keysOf(verify.attestors), ...verify.attestations.flatMap((a: any) => keysOf(a.attestors))]) {
    assert.equal(keys.publicKeys, 'PLATFORM_PUBLIC_KEY');
    assert.deepEqual([keys.rekor, keys.ctlog], [{ ignoreTlog: true }, { ignoreSCT: true }]);
  }
  const byType = new Map(verify.attestations.map((a: any) => [a.type, a.conditions[0].all]));
  assert.deepEqual([...byType.keys()], [APPROVAL_PREDICATE_TYPE, VSA_PREDICATE_TYPE]);
  assert.deepEqual((byType.get(APPROVAL_PREDICATE_TYPE) as any[]).map((c) => [c.key, c.operator, c.value]), [['{{ outcome }}', 'Equals', 'approved']]);
  assert.deepEqual((byType.get(VSA_PREDICATE_TYPE) as any[]).map((c) => [c.key, c.operator, c.value]), [
    ['{{ verifier.id }}', 'Equals', VSA_VERIFIER_ID],
    ['{{ verificationResult }}', 'Equals', 'PASSED'],
    ['SLSA_BUILD_LEVEL_2', 'AnyIn', '{{ verifiedLevels }}'],
  ]);
});

test('the ImageValidatingPolicy checks every piece by the platform key and names only what it declares', () => {
  const spec = load(IMAGE_VALIDATING_POLICY).spec;
  assert.deepEqual(spec.attestors.map((a: any) => [a.name, a.cosign.key.data.trim(), a.cosign.ctlog]), [['platform', 'PLATFORM_PUBLIC_KEY', { insecureIgnoreTlog: true, insecureIgnoreSCT: true }]]);
  assert.deepEqual(spec.attestations.map((a: any) => [a.name, a.intoto.type]), [['approval', APPROVAL_PREDICATE_TYPE], ['vsa', VSA_PREDICATE_TYPE]]);
  const expressions: string[] = spec.validations.map((v: any) => v.expression);
  const declared = { attestors: new Set(spec.attestors.map((a: any) => a.name)), attestations: new Set(spec.attestations.map((a: any) => a.name)) };
  for (const e of expressions) {
    for (const [, kind, name] of e.matchAll(/\b(attestors|attestations)\.([A-Za-z_]\w*)/g)) assert.ok(declared[kind as keyof typeof declared].has(name), `${e} names undeclared ${kind}.${name}`);
  }
  const all = expressions.join('\n');
  assert.match(all, /verifyImageSignatures\(image, \[attestors\.platform\]\)/);
  for (const a of ['approval', 'vsa']) assert.match(all, new RegExp(`verifyAttestationSignatures\\(image, attestations\\.${a}, \\[attestors\\.platform\\]\\)`));
  assert.match(all, /\.predicate\.outcome == 'approved'/);
  assert.ok(all.includes(`p.verifier.id == '${VSA_VERIFIER_ID}'`));
  assert.match(all, /p\.verificationResult == 'PASSED' && 'SLSA_BUILD_LEVEL_2' in p\.verifiedLevels/);
});
