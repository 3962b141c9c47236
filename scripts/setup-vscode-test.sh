#!/usr/bin/env bash
# Installs a real VS Code for the end-to-end tests: code-server 4.100.3 (VS Code 1.100.3 for the web, Node 20),
# into .vscode-test/code-server/ (git-ignored), plus the Debian packages the tests need (chromium, ripgrep) and the
# ones its native modules build with (libkrb5-dev, pkg-config).
#
# Offline-safe: every piece comes from the npm registry or Debian's packages.
#  - @vscode/ripgrep downloads `rg` from GitHub in its postinstall: it is handed Debian's rg through its download cache.
#  - npm 11 skips unapproved install scripts and npx prompts are refused: code-server is installed with
#    --ignore-scripts, then its postinstall and the native builds are run here by hand.
#
# Idempotent: a no-op (well under a second) once `$DEST/.installed-version` names this version.
# Usage: scripts/setup-vscode-test.sh [--force]
# Env:   VSCODE_TEST_DIR (default <repo>/.vscode-test)
# Prints the path of the code-server launcher on its last line (progress goes to stderr).
set -euo pipefail

VERSION=4.100.3
RIPGREP_PKG_VERSION=1.15.11                  # @vscode/ripgrep in VS Code 1.100.3
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${VSCODE_TEST_DIR:-$ROOT/.vscode-test}/code-server"
BIN="$DEST/node_modules/.bin/code-server"
MARKER="$DEST/.installed-version"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "[setup-vscode-test] $*" >&2; }
die() { echo "[setup-vscode-test] ERROR: $*" >&2; exit 1; }

# ---- Debian packages -------------------------------------------------------------------------------------------------
need_apt=()
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)

installed=0
[ "$FORCE" = 0 ] && [ -x "$BIN" ] && [ "$(cat "$MARKER" 2>/dev/null)" = "$VERSION" ] && installed=1
if [ "$installed" = 1 ] && [ ${#need_apt[@]} -eq 0 ]; then
  echo "$BIN"
  exit 0
fi

started=$SECONDS
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "need the Debian packages ${need_apt[*]} but am not root and sudo is missing; install them and run again"
  fi
  log "apt-get install ${need_apt[*]}"
  "${SUDO[@]}" apt-get update -qq >&2 || die "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2 \
    || die "apt-get install ${need_apt[*]} failed"
fi
command -v rg >/dev/null 2>&1 || die "ripgrep (rg) is still missing"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is still missing"
if [ "$installed" = 1 ]; then
  echo "$BIN"
  exit 0
fi

# ---- ripgrep: hand @vscode/ripgrep Debian's rg through its own download cache ----------------------------------------
RG_CACHE="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
RG_TAR="$RG_CACHE/$RIPGREP_ASSET"
if [ ! -s "$RG_TAR" ]; then
  log "ripgrep cache tarball from $(command -v rg)"
  mkdir -p "$RG_CACHE"
  tmp="$(mktemp -d)"
  cp "$(command -v rg)" "$tmp/rg"
  tar czf "$RG_TAR.tmp" -C "$tmp" rg && mv "$RG_TAR.tmp" "$RG_TAR"
  rm -rf "$tmp"
fi

# ---- code-server from the npm registry, scripts run by hand -----------------------------------------------------------
rm -f "$MARKER"
mkdir -p "$DEST"
cd "$DEST"
# Its own package root, so npm does not climb to the project's package.json.
[ -f package.json ] || echo '{"name":"openconductor-vscode-test","private":true}' > package.json
log "npm install code-server@$VERSION --ignore-scripts"
npm install "code-server@$VERSION" --ignore-scripts --no-audit --no-fund --no-save --loglevel=error >&2 \
  || die "npm install code-server@$VERSION failed"

NPM_VERSION="$(npm --version)"
export npm_config_user_agent="npm/$NPM_VERSION node/$(node --version) linux x64"
export npm_config_unsafe_perm=true npm_config_yes=true
export npm_config_nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
if [ -z "$npm_config_nodedir" ] || [ "$npm_config_nodedir" = "undefined" ]; then unset npm_config_nodedir; fi
# npm's own node-gyp (npx would have to fetch one).
NODE_GYP="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$NODE_GYP" ] || NODE_GYP=""
node_gyp() { if [ -n "$NODE_GYP" ]; then node "$NODE_GYP" "$@"; else npx --yes node-gyp "$@"; fi; }

log "code-server postinstall (installs VS Code's own node_modules)"
(cd node_modules/code-server && sh ./postinstall.sh) >&2 || die "code-server's postinstall.sh failed"

VSCODE_MODULES="node_modules/code-server/lib/vscode/node_modules"
# The rg the server searches with (the postinstall should have unpacked it from the cache).
RG_BIN="$VSCODE_MODULES/@vscode/ripgrep/bin/rg"
if [ -d "$VSCODE_MODULES/@vscode/ripgrep" ] && [ ! -x "$RG_BIN" ]; then
  log "copying Debian's rg to $RG_BIN"
  mkdir -p "$(dirname "$RG_BIN")" && cp "$(command -v rg)" "$RG_BIN"
fi

# Native modules of the VS Code server that npm's script policy skipped. @parcel/watcher (the file watcher) and
# @vscode/spdlog (the logs) are required; the others only degrade features a test does not use.
for m in @parcel/watcher @vscode/spdlog node-pty kerberos native-watchdog @vscode/deviceid @vscode/windows-registry; do
  d="$VSCODE_MODULES/$m"
  [ -f "$d/binding.gyp" ] || continue
  if ! find "$d/build" -name '*.node' 2>/dev/null | grep -q .; then
    log "node-gyp rebuild $m"
    if ! (cd "$d" && node_gyp rebuild) >&2; then
      case "$m" in
        @parcel/watcher|@vscode/spdlog|node-pty) die "could not build the native module $m" ;;
        *) log "warning: could not build $m (not needed by the tests)" ;;
      esac
    fi
  fi
done

# code-server's password hashing (node-pre-gyp: its download fails offline, so it builds from source).
if [ -d node_modules/argon2 ] && ! find node_modules/argon2 -name '*.node' 2>/dev/null | grep -q .; then
  log "argon2 (node-pre-gyp, from source)"
  (cd node_modules/argon2 && ../.bin/node-pre-gyp install --fallback-to-build ${npm_config_nodedir:+--nodedir="$npm_config_nodedir"}) >&2 \
    || die "could not build argon2"
fi

XDG_CONFIG_HOME="$DEST/.config" "$BIN" --version >&2 || die "$BIN does not start"
echo "$VERSION" > "$MARKER"
log "code-server $VERSION installed in $DEST in $((SECONDS - started)) s"
echo "$BIN"
