#!/bin/sh
# Checks, offline, one passkey-signed decision from a countersign approval record
# (docs/approvals.md, Checking a passkey decision offline) with jq, basenc and openssl only:
#   verify-passkey-decision.sh DECISION.json PASSKEY.pem ORIGIN
# DECISION.json is one element of the record's "decisions"; PASSKEY.pem the approver's passkey
# public key as the worker's roster lists it; ORIGIN the console origin (console.origin).
set -eu
decision=$1 key=$2 origin=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# base64url without padding, as WebAuthn writes it, to bytes.
unb64url() {
  s=$1
  while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
  printf '%s' "$s" | basenc --base64url -d
}

jq -j '.statement' "$decision" > "$work/statement"
unb64url "$(jq -r '.passkey.clientDataJSON' "$decision")" > "$work/clientData"
unb64url "$(jq -r '.passkey.authenticatorData' "$decision")" > "$work/authData"
unb64url "$(jq -r '.signature' "$decision")" > "$work/signature"

# 1. The browser signed this statement: the challenge is sha256 of its bytes.
challenge=$(openssl dgst -sha256 -binary "$work/statement" | basenc --base64url | tr -d '=\n')
[ "$(jq -r '.type' "$work/clientData")" = webauthn.get ] || { echo "not a WebAuthn assertion" >&2; exit 1; }
[ "$(jq -r '.challenge' "$work/clientData")" = "$challenge" ] || { echo "the assertion is not over this statement" >&2; exit 1; }
[ "$(jq -r '.origin' "$work/clientData")" = "$origin" ] || { echo "made at $(jq -r '.origin' "$work/clientData"), not $origin" >&2; exit 1; }

# 2. For this relying party (sha256 of the origin's host name), with user presence and verification.
rpid=$(printf '%s' "$origin" | sed -e 's|^[a-z]*://||' -e 's|:[0-9]*$||')
[ "$(head -c 32 "$work/authData" | xxd -p -c 64)" = "$(printf '%s' "$rpid" | openssl dgst -sha256 -binary | xxd -p -c 64)" ] || { echo "another relying party than $rpid" >&2; exit 1; }
flags=$(dd if="$work/authData" bs=1 skip=32 count=1 2>/dev/null | xxd -p)
[ $(( 0x$flags & 5 )) -eq 5 ] || { echo "no user presence and verification (flags $flags)" >&2; exit 1; }

# 3. The passkey's ES256 signature over authenticatorData || sha256(clientDataJSON).
{ cat "$work/authData"; openssl dgst -sha256 -binary "$work/clientData"; } > "$work/signed"
openssl dgst -sha256 -verify "$key" -signature "$work/signature" "$work/signed" >/dev/null || { echo "the signature does not verify with $key" >&2; exit 1; }

echo "passkey decision verified: $(jq -r '.approver + " " + .decision' "$decision") over $(jq -r '.statement | fromjson | .promotionId + " run " + .runId + " " + .digest' "$decision")"
