#!/usr/bin/env node
// npm 11 leaves out of package-lock.json the optional platform packages the registry mirror here
// does not serve (e.g. @swc/core-darwin-arm64), and `npm ci` then refuses the lockfile. This adds
// a stub entry (version, os, cpu, libc; never fetched on a non-matching platform) for each missing
// optional dependency whose platform is in its name. Run after changing dependencies:
//   npm install && node scripts/complete-lockfile.mjs
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const PLATFORM = /-(darwin|linux|win32|freebsd|android|openbsd|sunos|aix)-(arm64|x64|arm|ia32|ppc64|s390x|riscv64|loong64|mips64el)(?:-(gnu|musl|msvc|gnueabihf|eabi))?$/;
let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = location.endsWith(`node_modules/${name}`) ? location : `${location ? `${location}/` : ''}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[base] || lock.packages[hoisted]) continue;
    const match = PLATFORM.exec(name);
    if (!match) continue;
    const [, os, cpu, abi] = match;
    const stub = { version, cpu: [cpu], optional: true, os: [os] };
    if (os === 'linux' && (abi === 'gnu' || abi === 'gnueabihf')) stub.libc = ['glibc'];
    if (os === 'linux' && abi === 'musl') stub.libc = ['musl'];
    lock.packages[hoisted] = stub;
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entr${added === 1 ? 'y' : 'ies'}`);
