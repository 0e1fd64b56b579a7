/**
 * cosign-compatible commands: verify an image (either storage format), sign and verify blobs
 * with sigstore bundles. Each prints the stock cosign command that checks the same thing.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { signBlob } from '../../cosign/blob';
import { verifyBlobCommand } from './verify-blob';
import { cosignTypeName, predicateTypeFor } from '../../cosign/predicate-types';
import { attestationCheck, collectImageEvidence, signatureCheck, type EvidenceCheck } from '../../cosign/verify-image';
import { CountersignError } from '../../errors';
import { loadSigner } from '../../keys/load-signer';
import { keyFingerprint, loadPublicKeyFile, publicKeyToPem } from '../../keys/public-key';
import { describeIndexAttestations, readIndexContents } from '../../oci/index-attestations';
import { parseImageReference, repositoryOf } from '../../oci/reference';
import { RegistryStore } from '../../oci/registry';
import { followRootChain } from '../../trust/root-chain';
import { defaultVersionMemory, loadCheckedIndex, VersionMemory, type CheckedIndex } from '../../trust/signed-index';
import { trustSource } from '../../trust/source';
import { verifyAgainstTrust } from '../../trust/verify';
import { countersignHome } from '../context';
import { EXIT, printJson, write, type Command, type CommandIo, type ParsedArgs } from '../command';
import { DEFAULT_KEY_PASSWORD_ENV } from './keys';

function required(args: ParsedArgs, name: string): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value === '') throw new CountersignError('BAD_INPUT', `--${name} is required`);
  return value;
}

function onePositional(args: ParsedArgs, what: string): string {
  if (args.positionals.length !== 1) throw new CountersignError('BAD_INPUT', `give exactly one ${what}`);
  return args.positionals[0];
}

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (cause) {
    throw new CountersignError('BAD_INPUT', `${what} ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
}

export const verifyImageCommand: Command = {
  name: 'verify',
  summary: 'verify an image signature and attestations by key (cosign legacy tags and v3 bundles), or against a signed trust index',
  usage:
    'countersign verify REGISTRY/REPO@sha256:... (--key PUB | --trust URL|DIR (--root ROOT.json | --index-key PEM) [--min-version N] [--trust-state FILE] | --trust DIR --unsigned-index) [--type slsaprovenance1] [--type spdxjson] [--json]',
  options: {
    key: { type: 'string', short: 'k' },
    type: { type: 'string', multiple: true },
    trust: { type: 'string' },
    'index-key': { type: 'string' },
    root: { type: 'string' },
    'min-version': { type: 'string' },
    'trust-state': { type: 'string' },
    'unsigned-index': { type: 'boolean' },
  },
  optionHelp: {
    key: 'public key (cosign.pub, SPKI PEM)',
    trust: 'the published trust directory, by URL (https://cdn.example.com/trust) or as a local copy: the signing key must be in its index, not revoked, and valid when it signed (docs/trust.md)',
    'index-key': "the trust index key you pinned (the store's index-key.pem, kept from when you first trusted it): index.json must be signed by it, not expired, not older than seen before",
    root: "the store's root you pinned (root-STORE-N.json, its sha256 compared with the one governance announced): newer roots are followed when the governance of the one before signed them, and index.json must be signed by the key the newest names (docs/trust.md, The root)",
    'min-version': 'refuse an index older than this version (pin it in scripts, besides the version remembered in --trust-state)',
    'trust-state': 'where the highest index version seen is remembered (default $COUNTERSIGN_HOME/trust-versions.json)',
    'unsigned-index': 'read an index that nobody signed (a store without index:), knowing that whoever can write it decides what is trusted',
    type: 'attestation that must be present: a cosign --type name (slsaprovenance1, spdxjson, cyclonedx, ...) or a predicate type URI; repeatable',
  },
  details:
    'Exit codes: 0 every check passed; 2 bad input (a bad reference, a missing directory, a corrupt index); 4 a check failed (no signature, a missing attestation, KEY_NOT_VALID_AT_SIGNING_TIME); ' +
    '10 the registry or the trust URL unreachable; 11 the index (or a key file it names) does not verify with the pinned index key or the one the root names, or a newer root lacks its governance signatures; ' +
    '12 the index or the root chain is older than one seen before or pinned (rolled back); 13 the index or the newest root expired (frozen); 14 the key that signed is revoked; 15 no key in the index signed it. No stock cosign command is printed when the trust check fails: it would pass where this refuses.',
  async run(args, io) {
    const input = onePositional(args, 'image reference');
    const ref = parseImageReference(input);
    if (!ref.digest) throw new CountersignError('BAD_REFERENCE', `"${input}" has no digest; a tag is never trusted: pass REPO@sha256:<digest>`);
    const trustSpec = args.values.trust === undefined ? undefined : String(args.values.trust);
    const checked = trustSpec === undefined ? undefined : await checkedTrust(args, io, trustSpec);
    let keyFile = checked && args.values.key === undefined ? undefined : path.resolve(required(args, 'key'));
    let pem = keyFile ? publicKeyToPem(await loadPublicKeyFile(keyFile)) : undefined;
    const types = ((args.values.type as string[] | undefined) ?? []).map(predicateTypeFor);
    const repository = repositoryOf(ref);
    const slash = repository.indexOf('/');
    const store = new RegistryStore(repository.slice(0, slash));
    const trusted = checked ? await verifyAgainstTrust(store, repository.slice(slash + 1), ref.digest, checked, pem) : undefined;
    keyFile ??= trusted?.keyFile ?? `${checked?.source.where ?? '.'}/pubkey-<date>.pem`;
    pem ??= trusted?.pem;
    const label = pem ? `key ${keyFingerprint(pem).slice(0, 16)}` : 'a key in the trust index';
    const evidence = trusted?.evidence ?? (pem ? await collectImageEvidence(store, repository.slice(slash + 1), ref.digest, pem) : { signatures: { legacy: 0, bundle: 0 }, attestations: [], problems: [] });
    const checks: Array<EvidenceCheck | { name: string; ok: boolean; code: string; message: string }> = [signatureCheck('signature', evidence, ref.digest, label)];
    if (checked) checks.push({ name: 'index', ok: true, code: 'OK', message: indexMessage(checked) });
    if (trusted) checks.push({ name: 'trust', ...trusted.verdict });
    for (const t of types) checks.push(attestationCheck(`attestation ${cosignTypeName(t)}`, evidence, t, label, ref.digest).check);
    const image = `${repository}@${ref.digest}`;
    const ok = checks.every((c) => c.ok);
    // As cosign: an index is verified by its own digest; BuildKit's unsigned attestations inside it are only reported.
    // Notices only: a verdict the trust index already refused needs no registry read (it may be unreachable).
    const contents = trusted && !trusted.verdict.ok ? undefined : await readIndexContents(store, repository.slice(slash + 1), ref.digest);
    const notices = contents?.isIndex ? [`image index of ${contents.platforms} platform manifest(s): verified by the index's own digest`, ...describeIndexAttestations(contents)] : [];
    // A stock command is shown only where it agrees with this verdict: never for a key the index refuses.
    const cosign = trusted && !trusted.verdict.ok ? [] : stockCommands(checked, keyFile, types, image);
    if (args.values.json) printJson(io, { ok, image, checks, cosign, problems: evidence.problems, ...(notices.length > 0 ? { notices } : {}) });
    else {
      for (const c of checks) write(io.stdout, `[${c.ok ? 'ok' : 'NO'}] ${c.name}: ${c.ok ? '' : `${c.code} `}${c.message}`);
      for (const n of notices) write(io.stdout, `[--] ${n}`);
      if (cosign.length > 0) write(io.stdout, `\nthe same with stock tools:\n${cosign.map((c) => `  ${c}`).join('\n')}`);
      else if (trusted) write(io.stdout, `\nno stock command: ${trusted.verdict.code}, and stock cosign does not read the index (docs/trust.md, failing closed with stock tools)`);
    }
    if (ok) return EXIT.ok;
    return trusted && !trusted.verdict.ok ? (TRUST_EXIT[trusted.verdict.code] ?? EXIT.rejected) : EXIT.rejected;
  },
};

/** The trust verdicts that have an exit code of their own (README, exit codes). */
const TRUST_EXIT: Partial<Record<string, number>> = { KEY_REVOKED: EXIT.keyRevoked, KEY_UNKNOWN: EXIT.keyUnknown };

async function checkedTrust(args: ParsedArgs, io: CommandIo, spec: string): Promise<CheckedIndex> {
  const indexKey = args.values['index-key'] === undefined ? undefined : publicKeyToPem(await loadPublicKeyFile(path.resolve(String(args.values['index-key']))));
  const minVersion = args.values['min-version'] === undefined ? undefined : Number(args.values['min-version']);
  if (minVersion !== undefined && (!Number.isSafeInteger(minVersion) || minVersion < 1)) throw new CountersignError('BAD_INPUT', `--min-version must be a whole number of at least 1, not "${String(args.values['min-version'])}"`);
  const pinnedRoot = args.values.root === undefined ? undefined : await readInput(path.resolve(String(args.values.root)), '--root');
  if ([indexKey, pinnedRoot, args.values['unsigned-index']].filter(Boolean).length > 1) throw new CountersignError('BAD_INPUT', 'give one of --root, --index-key and --unsigned-index');
  const versions = args.values['trust-state'] !== undefined ? new VersionMemory(path.resolve(String(args.values['trust-state']))) : defaultVersionMemory(countersignHome(io.env));
  const source = await trustSource(spec);
  if (pinnedRoot) {
    const { root } = await followRootChain(source, { pinned: pinnedRoot, versions });
    const checked = await loadCheckedIndex(source, { indexKeyPem: root.indexKey.publicKey, indexKeyOrigin: `the index key root ${root.version} of store ${root.trust} names`, minVersion, versions });
    return { ...checked, root: { trust: root.trust, version: root.version } };
  }
  return loadCheckedIndex(source, { indexKeyPem: indexKey, allowUnsigned: Boolean(args.values['unsigned-index']), minVersion, versions });
}

function indexMessage(checked: CheckedIndex): string {
  const { index } = checked;
  if (!checked.signed) return `${checked.source.where}/index.json read UNSIGNED (--unsigned-index): whoever can write it decides what is trusted`;
  const root = checked.root ? ` (named by root ${checked.root.version} of store ${checked.root.trust})` : '';
  return `${checked.source.where}/index.json version ${index.version}, signed by index key ${checked.indexKey?.slice(0, 16)}${root}, expires ${index.expires}`;
}

/** What a customer runs with stock tools for the same verdict: the index's signature (when signed), then cosign. */
function stockCommands(checked: CheckedIndex | undefined, keyFile: string, types: string[], image: string): string[] {
  const flags = `--key ${keyFile} --insecure-ignore-tlog=true`;
  const index = checked?.signed ? [`cosign verify-blob --key <${checked.root ? 'the indexKey of the newest root' : 'your pinned index-key.pem'}> --signature index.json.sig --insecure-ignore-tlog=true index.json   # then check version, expires and the key's status: docs/trust.md`] : [];
  return [...index, `cosign verify ${flags} ${image}`, ...types.map((t) => `cosign verify-attestation ${flags} --type ${cosignTypeName(t)} ${image}`)];
}

export const signBlobCommand: Command = {
  name: 'sign-blob',
  summary: 'sign a file into a sigstore bundle (what cosign sign-blob --bundle writes)',
  usage: 'countersign sign-blob FILE --key KEY --bundle OUT [--password-env VAR]',
  options: { key: { type: 'string', short: 'k' }, bundle: { type: 'string' }, 'password-env': { type: 'string' } },
  optionHelp: {
    key: 'private key: a cosign.key (made by cosign or countersign keys generate)',
    bundle: 'where to write the bundle JSON',
    'password-env': `environment variable holding the key's passphrase (default ${DEFAULT_KEY_PASSWORD_ENV})`,
  },
  details: 'Check it with: cosign verify-blob --key KEY.pub --bundle OUT --insecure-ignore-tlog=true FILE',
  async run(args, io) {
    const file = path.resolve(onePositional(args, 'file'));
    const out = path.resolve(required(args, 'bundle'));
    const signer = await loadSigner(path.resolve(required(args, 'key')), (args.values['password-env'] as string | undefined) ?? DEFAULT_KEY_PASSWORD_ENV, io.env);
    const bundle = await signBlob(await readInput(file, 'file'), signer);
    await fs.writeFile(out, JSON.stringify(bundle));
    const pem = await signer.publicKeyPem();
    const cosign = `cosign verify-blob --key <public key> --bundle ${out} --insecure-ignore-tlog=true ${file}`;
    if (args.values.json) printJson(io, { bundle: out, file, keyFingerprint: keyFingerprint(pem), cosign });
    else write(io.stdout, `wrote ${out}\ncheck with: ${cosign}`);
    return EXIT.ok;
  },
};

export const COSIGN_COMMANDS: Command[] = [verifyImageCommand, signBlobCommand, verifyBlobCommand];
