/**
 * Strict SemVer 2.0.0 (https://semver.org): MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], no leading
 * "v", no leading zeros. Helm itself accepts looser forms ("1.2", "v1.2.3"); countersign refuses
 * them so that file names, index entries and OCI tags all agree on one spelling.
 */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);

/** The parsed version, or undefined when `text` is not strict SemVer 2. */
export function parseSemVer(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (m === null) return undefined;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  return { major: nums[0]!, minor: nums[1]!, patch: nums[2]!, prerelease: m[4] ? m[4].split('.') : [], build: m[5] ? m[5].split('.') : [] };
}

/** Why `text` is not strict SemVer 2, or undefined when it is. */
export function semVerProblem(text: string): string | undefined {
  if (parseSemVer(text) !== undefined) return undefined;
  if (/^v\d/.test(text)) return `${JSON.stringify(text)} is not SemVer 2: drop the leading "v"`;
  if (/^\d+(\.\d+)?$/.test(text)) return `${JSON.stringify(text)} is not SemVer 2: it needs MAJOR.MINOR.PATCH`;
  return `${JSON.stringify(text)} is not SemVer 2 (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], no leading zeros)`;
}

function compareIds(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer precedence (build metadata ignored): negative, zero or positive. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (a[key] !== b[key]) return Math.sign(a[key] - b[key]);
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = compareIds(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}
