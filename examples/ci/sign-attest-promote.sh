#!/usr/bin/env bash
# Signs and attests an image your CI built, with stock cosign, then asks countersign to promote it
# with a start request signed by the CI's own initiator key, and waits for the outcome.
# Called by examples/ci/github-actions.yml and examples/ci/gitlab-ci.yml (docs/ci.md).
#
# Inputs (environment):
#   IMAGE                  registry/repository@sha256:... as the build pushed it (a tag is never trusted)
#   SOURCE_REPO, COMMIT    the repository URL and full commit the image was built from
#   BUILD_COMMAND          how it was built, as the target's policy names it
#   BUILDER_ID             this CI's builder identity, one of the target's policy builderIds
#   COSIGN_KEY             the developer key (a cosign key file, awskms://..., ...); empty: keyless
#                          (the CI's OIDC token; the target needs a keyless: section, docs/policy.md)
#   COSIGN_PASSWORD        the developer key's passphrase (cosign reads it)
#   COSIGN_EXTRA_FLAGS     extra flags for cosign sign/attest, e.g. for a private registry without Rekor
#   SBOM                   an SPDX JSON SBOM of the image (e.g. from syft); empty: one naming the image only
#   COUNTERSIGN_TARGET     the target to promote to (the worker's configuration decides what it means)
#   COUNTERSIGN_INITIATOR  this CI's name under initiators: in the worker's configuration
#   COUNTERSIGN_KEY        the initiator's private key file (its passphrase in COUNTERSIGN_APPROVER_KEY_PASSWORD)
#   TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_TLS_*)   where countersign's Temporal is
#
# Exit code: countersign promote's (0 promoted, 4 rejected, 5 expired, 6 failed, 7 refused).
set -euo pipefail

for name in IMAGE SOURCE_REPO COMMIT BUILD_COMMAND BUILDER_ID COUNTERSIGN_TARGET COUNTERSIGN_INITIATOR COUNTERSIGN_KEY TEMPORAL_ADDRESS; do
  if [ -z "${!name:-}" ]; then echo "sign-attest-promote: $name is not set" >&2; exit 2; fi
done
case "$IMAGE" in *@sha256:*) ;; *) echo "sign-attest-promote: IMAGE must name a digest (repository@sha256:...), not a tag" >&2; exit 2 ;; esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# SLSA v1 provenance of this build: the facts the target's policy checks (source, commit, command, builder).
node -e '
  const e = process.env;
  const provenance = {
    buildDefinition: {
      buildType: "https://countersign.dev/buildtypes/ci/v1",
      externalParameters: { source: { repository: e.SOURCE_REPO, commit: e.COMMIT }, buildCommand: e.BUILD_COMMAND },
      resolvedDependencies: [{ uri: "git+" + e.SOURCE_REPO, digest: { gitCommit: e.COMMIT } }],
    },
    runDetails: { builder: { id: e.BUILDER_ID }, metadata: { invocationId: e.CI_RUN_URL || "", finishedOn: new Date().toISOString() } },
  };
  process.stdout.write(JSON.stringify(provenance, null, 2));
' > "$work/provenance.json"

if [ -n "${SBOM:-}" ]; then
  cp "$SBOM" "$work/sbom.spdx.json"
else
  # Names the image only; use an SBOM generator (syft) to list what is inside it.
  node -e '
    const image = process.env.IMAGE, digest = image.split("@")[1];
    process.stdout.write(JSON.stringify({
      spdxVersion: "SPDX-2.3", dataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", name: image,
      documentNamespace: "https://countersign.invalid/ci/" + encodeURIComponent(image),
      creationInfo: { created: new Date().toISOString().replace(/\.\d+Z$/, "Z"), creators: ["Tool: countersign-ci-example"] },
      packages: [{ SPDXID: "SPDXRef-Package-image", name: image.split("@")[0], versionInfo: digest, downloadLocation: "NOASSERTION",
        filesAnalyzed: false, checksums: [{ algorithm: "SHA256", checksumValue: digest.replace("sha256:", "") }], primaryPackagePurpose: "CONTAINER" }],
      relationships: [{ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: "SPDXRef-Package-image" }],
    }, null, 2));
  ' > "$work/sbom.spdx.json"
fi

# shellcheck disable=SC2206  # word splitting of the extra flags is the point
extra=(${COSIGN_EXTRA_FLAGS:-})
if [ -n "${COSIGN_KEY:-}" ]; then key=(--key "$COSIGN_KEY"); else key=(); fi
cosign sign "${key[@]}" --yes "${extra[@]}" "$IMAGE"
cosign attest "${key[@]}" --yes "${extra[@]}" --type slsaprovenance1 --predicate "$work/provenance.json" "$IMAGE"
cosign attest "${key[@]}" --yes "${extra[@]}" --type spdxjson --predicate "$work/sbom.spdx.json" "$IMAGE"

exec countersign promote --target "$COUNTERSIGN_TARGET" --as "$COUNTERSIGN_INITIATOR" --key "$COUNTERSIGN_KEY" \
  --image "$IMAGE" --commit "$COMMIT" --wait
