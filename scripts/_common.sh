# shellcheck shell=bash
# Helpers sourced by scripts/run and scripts/test (the caller has cd'ed to the repository root).

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# apt_install PACKAGE... : install Debian packages, as root only (no prompts, works without stdin).
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing Debian package(s) $*: run 'sudo apt-get install -y $*' and try again"
  fi
  say "installing Debian package(s): $*"
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq "$@" </dev/null || die "apt-get install $* failed"
}

# ensure_venv [EXTRAS]: create .venv when it is missing or broken, then `pip install -e .[EXTRAS]`
# when pyproject.toml differs from the one of the last successful install (a hash in a stamp file
# inside .venv, one per extras set; an install with extras also satisfies the plain install).
ensure_venv() {
  local extras="${1:-}" want stamp
  if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    rm -rf .venv
    say "creating .venv"
    if ! python3 -m venv .venv >/dev/null 2>&1; then
      # Debian's python3 ships without ensurepip until python3-venv is installed
      rm -rf .venv
      apt_install python3-venv
      python3 -m venv .venv || die "python3 -m venv failed even with python3-venv installed"
    fi
  fi
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -V 2>&1)"
  stamp=".venv/.sanfuwu-installed-${extras:-base}"
  if [ -z "$extras" ] && [ "$(cat .venv/.sanfuwu-installed-test 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing sanfuwu${extras:+[$extras]} into .venv (pyproject.toml changed or first run)"
    rm -f "$stamp"
    .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}" || die "pip install failed"
    printf '%s\n' "$want" >"$stamp"
  fi
}
