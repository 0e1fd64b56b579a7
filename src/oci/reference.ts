/**
 * Image references: `[registry/]repository[:tag][@digest]`, parsed the way docker does.
 *
 * - The first path component is the registry when it contains '.' or ':' or is `localhost`
 *   (e.g. `127.0.0.1:5000/apps/hello`); otherwise the registry is `docker.io` and a single-name
 *   repository gets the `library/` prefix (`alpine` -> `docker.io/library/alpine`).
 * - Repository path components are lowercase: `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`
 *   (the OCI distribution-spec grammar), separated by '/'.
 * - Tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
 * - Digest: only `sha256:<64 lowercase hex>`.
 * Every malformed input is a CountersignError('BAD_REFERENCE') naming the input and the problem.
 */
import { CountersignError } from '../errors';

export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_REGISTRY = 'docker.io';

const MAX_NAME_LENGTH = 255;
/** A whole reference: a 255-character name, a 128-character tag and a sha256 digest fit (456). */
export const DEFAULT_REFERENCE_MAX_LENGTH = 512;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*$/;
const HOST_IPV6 = /^\[[A-Fa-f0-9:.]+\]$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

function bad(input: string, problem: string): CountersignError {
  return new CountersignError('BAD_REFERENCE', `invalid image reference ${JSON.stringify(input)}: ${problem}`, {
    details: { reference: input },
  });
}

/** Validates `sha256:<64 lowercase hex>` and returns it unchanged; BAD_REFERENCE otherwise. */
export function parseDigest(s: string): string {
  const problem = digestProblem(s);
  if (problem !== undefined) {
    throw new CountersignError('BAD_REFERENCE', `invalid digest ${JSON.stringify(s)}: ${problem}`, {
      details: { digest: s },
    });
  }
  return s;
}

/** True when `s` is a `sha256:<64 lowercase hex>` digest. */
export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && SHA256_DIGEST.test(s);
}

function digestProblem(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'a digest must be a string';
  if (SHA256_DIGEST.test(s)) return undefined;
  const colon = s.indexOf(':');
  if (colon <= 0) return 'expected the form sha256:<64 hex characters>';
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (algorithm !== 'sha256') return `unsupported digest algorithm ${JSON.stringify(algorithm)} (only sha256 is accepted)`;
  if (!/^[A-Fa-f0-9]*$/.test(hex)) return 'the sha256 value must be hexadecimal';
  if (hex.length !== 64) return `a sha256 digest has 64 hex characters, this one has ${hex.length}`;
  return 'the sha256 value must be lowercase hexadecimal';
}

function registryProblem(registry: string): string | undefined {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith('[')) {
    const close = registry.indexOf(']');
    if (close < 0) return `registry ${JSON.stringify(registry)} has an unterminated IPv6 address`;
    host = registry.slice(0, close + 1);
    const rest = registry.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `registry ${JSON.stringify(registry)} is not a valid host[:port]`;
      port = rest.slice(1);
    }
    if (!HOST_IPV6.test(host)) return `registry ${JSON.stringify(registry)} has an invalid IPv6 address`;
  } else {
    const colon = registry.indexOf(':');
    if (colon >= 0) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
    if (!HOST_NAME.test(host)) return `registry host ${JSON.stringify(host)} is not a valid host name or address`;
  }
  if (port !== undefined) {
    if (!/^[0-9]+$/.test(port)) return `registry port ${JSON.stringify(port)} is not a number`;
    const n = Number(port);
    if (n < 1 || n > 65535) return `registry port ${port} is out of range 1-65535`;
  }
  return undefined;
}

/** Parses `input` into its parts; see the module comment for the rules. */
export function parseImageReference(input: string): ImageReference {
  if (typeof input !== 'string') {
    throw new CountersignError('BAD_REFERENCE', `invalid image reference: expected a string, got ${typeof input}`);
  }
  if (input === '') throw bad(input, 'it is empty');
  if (input.length > DEFAULT_REFERENCE_MAX_LENGTH) {
    // Not echoed: a reference this long is not one, and the message should stay readable.
    throw new CountersignError('BAD_REFERENCE', `invalid image reference: ${input.length} characters, longer than ${DEFAULT_REFERENCE_MAX_LENGTH}`, {
      details: { length: input.length, limit: DEFAULT_REFERENCE_MAX_LENGTH },
    });
  }
  if (/[\s\u0000-\u001f\u007f]/.test(input)) throw bad(input, 'it contains whitespace or control characters');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest === '') throw bad(input, "nothing follows '@' (expected a sha256 digest)");
    if (digest.includes('@')) throw bad(input, "it contains more than one '@'");
    const problem = digestProblem(digest);
    if (problem !== undefined) throw bad(input, problem);
  }
  if (rest === '') throw bad(input, 'it has no repository name');

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (tag === '') throw bad(input, "nothing follows ':' (expected a tag)");
    if (!TAG.test(tag)) {
      throw bad(input, `tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
  }
  if (rest === '') throw bad(input, 'it has no repository name');

  let registry: string;
  let repository: string;
  const firstSlash = rest.indexOf('/');
  const first = firstSlash < 0 ? rest : rest.slice(0, firstSlash);
  if (firstSlash < 0) {
    // `localhost:5000` or `registry.example.com:5000` alone: docker would read the port as a tag of
    // an image on Docker Hub; that is never what was meant, so say what is missing instead.
    if (rest === 'localhost' || (rest.includes('.') && tag !== undefined && /^[0-9]+$/.test(tag))) {
      throw bad(input, 'it names a registry but no repository');
    }
    registry = DEFAULT_REGISTRY;
    repository = rest;
  } else if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
    registry = first;
    repository = rest.slice(firstSlash + 1);
    const problem = registryProblem(registry);
    if (problem !== undefined) throw bad(input, problem);
    if (repository === '') throw bad(input, 'it names a registry but no repository');
  } else {
    registry = DEFAULT_REGISTRY;
    repository = rest;
  }
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;

  const components = repository.split('/');
  for (const component of components) {
    if (component === '') throw bad(input, 'the repository has an empty path component');
    if (!PATH_COMPONENT.test(component)) {
      if (component !== component.toLowerCase() && PATH_COMPONENT.test(component.toLowerCase())) {
        throw bad(input, `repository component ${JSON.stringify(component)} must be lowercase`);
      }
      throw bad(
        input,
        `repository component ${JSON.stringify(component)} must be lowercase letters and digits separated by '.', '_', '__' or '-'`,
      );
    }
  }
  if (registry === DEFAULT_REGISTRY && components.length === 1) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw bad(input, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  }

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `registry/repository[:tag][@digest]`, always fully qualified. */
export function formatReference(ref: ImageReference): string {
  let out = repositoryOf(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/**
 * The same repository pinned to `digest` (validated). The tag is dropped: once pinned, the digest
 * alone says which content is meant, and `repo@digest` is the form registries and cosign expect.
 */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest: parseDigest(digest) };
}

/** `registry/repository`, e.g. `127.0.0.1:5000/apps/hello`. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}
