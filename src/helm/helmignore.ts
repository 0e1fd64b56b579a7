/**
 * `.helmignore` rules with the semantics `helm package` gives them, so that countersign packages
 * the same set of files: one glob per line (Go `filepath.Match` syntax: `*`, `?`, `[...]`, `\`),
 * `#` comments, a trailing `/` for directories only, a leading `/` or any `/` to match the whole
 * path, otherwise the base name. `**` is refused, as Helm refuses it. A `!pattern` line is Helm's,
 * not git's: it ignores every path that does NOT match the pattern. Helm always adds
 * `templates/.?*` (dot files under templates/).
 */
import { CountersignError } from '../errors';

export const HELMIGNORE = '.helmignore';
export const DEFAULT_RULES = ['templates/.?*'];

interface Rule {
  raw: string;
  negate: boolean;
  dirOnly: boolean;
  wholePath: boolean;
  regex: RegExp;
}

/** Go `filepath.Match` pattern as an anchored regular expression ('/' is the separator). */
export function globToRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '\\') {
      i++;
      if (i >= pattern.length) throw new Error('trailing backslash');
      out += escapeRegex(pattern[i]!);
    } else if (ch === '[') {
      const close = classEnd(pattern, i);
      let body = pattern.slice(i + 1, close);
      let negated = false;
      if (body.startsWith('^')) {
        negated = true;
        body = body.slice(1);
      }
      if (body === '') throw new Error('empty character class');
      const escaped = body.replace(/\\(.)/g, '$1').replace(/[\]\\^]/g, '\\$&');
      out += negated ? `(?!/)[^${escaped}]` : `[${escaped}]`;
      i = close;
    } else out += escapeRegex(ch);
  }
  return new RegExp(`^${out}$`, 's');
}

function classEnd(pattern: string, open: number): number {
  for (let j = open + 1; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++;
    else if (pattern[j] === ']' && j > open + 1) return j;
  }
  throw new Error('unterminated character class');
}

function escapeRegex(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Parsed rules; `ignores(path, isDir)` answers for a path relative to the chart root. */
export class HelmIgnore {
  private constructor(private readonly rules: Rule[]) {}

  /** Parses `.helmignore` text (UTF-8 BOM allowed) and adds Helm's default rule. `source` names it in errors. */
  static parse(text: string, source = HELMIGNORE): HelmIgnore {
    const rules: Rule[] = [];
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    lines.forEach((line, index) => {
      const rule = parseRule(line, `${source}:${index + 1}`);
      if (rule) rules.push(rule);
    });
    for (const raw of DEFAULT_RULES) rules.push(parseRule(raw, 'default rule')!);
    return new HelmIgnore(rules);
  }

  ignores(path: string, isDir: boolean): boolean {
    if (path === '' || path === '.' || path === './') return false;
    for (const rule of this.rules) {
      const subject = rule.wholePath ? path : path.slice(path.lastIndexOf('/') + 1);
      if (rule.negate) {
        if (rule.dirOnly && !isDir) return true;
        if (!rule.regex.test(subject)) return true;
        continue;
      }
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(subject)) return true;
    }
    return false;
  }
}

function parseRule(line: string, where: string): Rule | undefined {
  let rule = line.trim();
  if (rule === '' || rule.startsWith('#')) return undefined;
  const raw = rule;
  if (rule.includes('**')) {
    throw new CountersignError('CHART_INVALID', `${where}: "${raw}": double-star (**) is not supported by Helm`);
  }
  const negate = rule.startsWith('!');
  if (negate) rule = rule.slice(1);
  const dirOnly = rule.endsWith('/');
  if (dirOnly) rule = rule.slice(0, -1);
  const anchored = rule.startsWith('/');
  if (anchored) rule = rule.slice(1);
  let regex: RegExp;
  try {
    regex = globToRegex(rule);
  } catch (err) {
    throw new CountersignError('CHART_INVALID', `${where}: "${raw}" is not a valid pattern (${(err as Error).message})`);
  }
  return { raw, negate, dirOnly, wholePath: anchored || rule.includes('/'), regex };
}
