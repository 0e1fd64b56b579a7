#!/usr/bin/env bash
# Regenerates the Helm vectors in this directory with the real tools (see README.md).
# Needs gpg and helm v3.21.4 (`bash scripts/toolchain.sh helm gpg`). Writes:
#   test-key.asc        the TEST-ONLY secret key (armored, passphrase below)
#   keyring.gpg         its public keyring, binary, as `helm verify --keyring` wants it
#   keyring.asc         the same keyring ASCII-armored (Helm refuses it)
#   demo-1.2.3.tgz      `helm package --sign` of ./demo
#   demo-1.2.3.tgz.prov its provenance
set -euo pipefail
cd "$(dirname "$0")"
PASSPHRASE='countersign-helm-test-only'
HELM="${HELM_PATH:-$HOME/.cache/countersign/tools/helm-v3.21.4/helm}"
GNUPGHOME="$(mktemp -d)"
export GNUPGHOME
trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT

gpg --batch --pinentry-mode loopback --passphrase "$PASSPHRASE" --quick-generate-key \
  'Countersign Helm Test (TEST ONLY) <helm-test@countersign.invalid>' rsa4096 sign,cert never
gpg --batch --pinentry-mode loopback --passphrase "$PASSPHRASE" --armor --export-secret-keys > test-key.asc
gpg --batch --export > keyring.gpg
gpg --batch --armor --export > keyring.asc
# Helm reads secret keys from a binary keyring in the old secring.gpg shape.
gpg --batch --pinentry-mode loopback --passphrase "$PASSPHRASE" --export-secret-keys > "$GNUPGHOME/secring.gpg"
printf '%s' "$PASSPHRASE" > "$GNUPGHOME/passphrase"
"$HELM" package --sign --key 'Countersign Helm Test' --keyring "$GNUPGHOME/secring.gpg" \
  --passphrase-file "$GNUPGHOME/passphrase" --destination . ./demo
"$HELM" verify --keyring keyring.gpg demo-1.2.3.tgz
