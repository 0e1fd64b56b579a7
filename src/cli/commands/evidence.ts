/**
 * `countersign evidence <id>`: the evidence pack the approval console shows, in a terminal: the
 * same pack and the same digest (src/evidence/pack.ts), so an approver who signs with a
 * file key sees what a console user sees.
 */
import { readChartReleaseRecord } from '../../client/chart-record';
import { readPromotionRecord } from '../../client/promotion-record';
import { CHART_RELEASE_ID } from '../../helm/id';
import { assembleChartEvidencePack, chartEvidencePackDigest, type ChartEvidencePack } from '../../evidence/chart-pack';
import { assembleEvidencePack, evidencePackDigest, type EvidencePack } from '../../evidence/pack';
import { CountersignError } from '../../errors';
import { RegistryStore } from '../../oci/registry';
import type { BuildFacts } from '../../provenance/slsa';
import { printJson, write, type Command } from '../command';
import { connectClient } from '../context';

export const evidenceCommand: Command = {
  name: 'evidence',
  summary: "print a promotion's or chart release's evidence pack (what the console shows) and its digest",
  usage: 'countersign evidence <promotion-id | chart-release-id> [--json] [--address HOST:PORT] [--namespace NS]',
  options: {},
  optionHelp: {},
  details:
    "The pack: the artifact, every platform-verify check, the provenance platform verify judged beside what the target's release tag points at now, the SBOM's changes against that release, the pinned policy and its digest. " +
    'It is read from the run\'s own record in Temporal and from the registry; it is ready once platform verify has run (EVIDENCE_NOT_READY before). ' +
    "A chart release's pack (chart-<target>/<name>-<version>-<16 hex>): the chart and its digest, its checks, where it was packaged from and who requested it, the keys that sign it once approved, where it is published, the pinned policy; ready once the worker has authorised it. " +
    'With --json: { "digest", "pack" }, as the console\'s evidence.json. Exit codes: 0, 3 unknown id, 1 not ready or unreadable.',
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'a promotion id is required (see countersign list)');
    const chart = CHART_RELEASE_ID.test(id);
    if (!chart && !/^promote-[A-Za-z0-9._-]{1,100}-[0-9a-f]{16}$/.test(id)) {
      throw new CountersignError('BAD_INPUT', `"${id.slice(0, 120)}" is not a promotion id (promote-<target>-<16 hex digits>) nor a chart release id (chart-<chart target>/<name>-<version>-<16 hex digits>)`);
    }
    const { client, close } = await connectClient(args, io.env);
    try {
      if (chart) {
        const pack = assembleChartEvidencePack(await readChartReleaseRecord(client, id));
        const digest = chartEvidencePackDigest(pack);
        if (args.values.json) printJson(io, { digest, pack });
        else write(io.stdout, renderChartEvidence(pack, digest));
        return 0;
      }
      const stores = new Map<string, RegistryStore>();
      const storeFor = (host: string) => stores.get(host) ?? stores.set(host, new RegistryStore(host)).get(host)!;
      const pack = await assembleEvidencePack({ storeFor }, await readPromotionRecord(client, id));
      const digest = evidencePackDigest(pack);
      if (args.values.json) printJson(io, { digest, pack });
      else write(io.stdout, renderEvidence(pack, digest));
      return 0;
    } finally {
      await close();
    }
  },
};

const FACTS = ['sourceRepo', 'commit', 'ref', 'builderId', 'buildCommand'] as const;

function facts(f: Partial<BuildFacts> | undefined): string {
  if (!f) return 'none signed by the pinned developer key';
  return FACTS.filter((k) => (f as Record<string, unknown>)[k] !== undefined).map((k) => `${k}=${String((f as Record<string, unknown>)[k])}`).join('  ') || 'no facts';
}

export function renderEvidence(pack: EvidencePack, digest: string): string {
  const failed = pack.checks.filter((c) => !c.ok).length;
  const lines = [
    `evidence pack ${digest}`,
    `promotion    ${pack.promotionId} (target ${pack.artifact.target})`,
    `artifact     ${pack.artifact.repository}@${pack.artifact.digest} (${pack.artifact.source})`,
    `checks       ${pack.checks.length - failed} passed, ${failed} failed`,
    ...pack.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}`),
    ...pack.notices.map((n) => `  note ${n}`),
    `provenance   ${facts(pack.provenance.candidate.judged)}`,
    `release      ${pack.provenance.released.tag} -> ${pack.provenance.released.digest ?? 'nothing yet'}${pack.provenance.released.note ? ` (${pack.provenance.released.note})` : ''}`,
    ...pack.provenance.released.signed.map((f) => `  released    ${facts(f)}`),
  ];
  const changes = pack.sbom.changes;
  if (changes) {
    const p = changes.packages;
    const f = changes.files;
    lines.push(`sbom         packages +${p.added.length} -${p.removed.length} ~${p.changed.length}; files +${f.added.length} -${f.removed.length} ~${f.changed.length}`);
    for (const a of p.added) lines.push(`  + ${a.name} ${a.version}`);
    for (const r of p.removed) lines.push(`  - ${r.name} ${r.version}`);
    for (const c of p.changed) lines.push(`  ~ ${c.name} ${c.from} -> ${c.to}`);
  } else lines.push(`sbom         ${pack.sbom.note ?? 'no changes computed'}`);
  const approval = pack.policy.approval;
  lines.push(
    `policy       ${pack.policy.digest}`,
    ...approval.groups.map((g) => `  group ${g.name}: ${g.required} of ${g.members.join(', ')}`),
    `  veto on reject: ${approval.vetoOnReject ? 'yes' : 'no'}; keys: developer ${pack.policy.keys.developer.slice(0, 16)}, platform ${pack.policy.keys.platform.slice(0, 16)}`,
  );
  return lines.join('\n');
}

export function renderChartEvidence(pack: ChartEvidencePack, digest: string): string {
  const failed = pack.checks.filter((c) => !c.ok).length;
  const { provenance: p, policy } = pack;
  return [
    `evidence pack ${digest}`,
    `chart release ${pack.releaseId} (chart target ${pack.chart.target})`,
    `chart        ${pack.chart.fileName} ${pack.chart.digest}`,
    `checks       ${pack.checks.length - failed} passed, ${failed} failed`,
    ...pack.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}`),
    `provenance   packaged from ${p.chartDirectory}; requested by ${p.initiator} (signed start request for ${p.requested})`,
    ...(p.reopenedBy ? [`  re-opened by ${p.reopenedBy.reopener} after run ${p.reopenedBy.rejectedRunId}: ${p.reopenedBy.reason}`] : []),
    `signing      .prov by OpenPGP key ${p.signing.openpgp}${p.signing.cosign ? `; sigstore bundle by cosign key ${p.signing.cosign.slice(0, 16)}` : ''} (after approval)`,
    `publish      ${[pack.publish.repositoryUrl && `repository ${pack.publish.repositoryUrl}`, pack.publish.oci && `oci ${pack.publish.oci}`].filter(Boolean).join(', ') || 'nowhere configured'}`,
    `policy       ${policy.digest}`,
    ...policy.approval.groups.map((g) => `  group ${g.name}: ${g.required} of ${g.members.join(', ')}`),
    `  veto on reject: ${policy.approval.vetoOnReject ? 'yes' : 'no'}`,
  ].join('\n');
}
