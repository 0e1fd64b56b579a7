/**
 * What the console reads of the worker's configuration: `console.origin` and the roster's
 * passkeys, nothing else. The console need not see the rest (key files, trust stores, targets),
 * so it runs with the configuration file alone mounted and no key beside it; a passkey's key is
 * then written inline, as enrolment prints it. The worker still parses the whole file and is what
 * decides: a passkey the console lets log in still signs nothing the workflow has not checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parsePasskeys, type PasskeyConfig } from './approval/passkey-config';
import { DEFAULT_CONFIG_MAX_BYTES, parseConfigYaml } from './config';
import { parseConsoleSection, type ConsoleSection } from './console/config';
import { CountersignError } from './errors';

export interface ConsoleConfig {
  file: string;
  console?: ConsoleSection;
  passkeys: Record<string, PasskeyConfig[]>;
}

export function loadConsoleConfig(file: string): ConsoleConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    if (fs.statSync(absolute).size > DEFAULT_CONFIG_MAX_BYTES) throw new CountersignError('BAD_CONFIG', `${absolute} is over the ${DEFAULT_CONFIG_MAX_BYTES}-byte limit for a configuration file`);
    text = fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new CountersignError('BAD_CONFIG', `config file ${absolute} not found (pass --config or set COUNTERSIGN_CONFIG)`);
  }
  const raw = parseConfigYaml(text, absolute) as Record<string, unknown>;
  const problems: string[] = [];
  const add = (field: string, problem: string) => problems.push(`${field}: ${problem}`);
  const rp = parseConsoleSection(raw?.console, add);
  const passkeys: Record<string, PasskeyConfig[]> = {};
  const approvers = raw?.approvers;
  if (approvers && typeof approvers === 'object' && !Array.isArray(approvers)) {
    for (const [name, entry] of Object.entries(approvers as Record<string, unknown>)) {
      const list = entry && typeof entry === 'object' ? (entry as Record<string, unknown>).passkeys : undefined;
      const parsed = parsePasskeys(list, `approvers.${name}.passkeys`, path.dirname(absolute), rp, add);
      if (parsed.length > 0) passkeys[name] = parsed;
    }
  }
  if (problems.length > 0) throw new CountersignError('BAD_CONFIG', `${absolute} has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  return { file: absolute, ...(rp ? { console: rp } : {}), passkeys };
}
