#!/usr/bin/env bash
# build.sh: the one entry point for setting up, building and testing noisylab.
#
#   ./build.sh deps    install missing Debian packages (as root) and npm packages
#   ./build.sh build   deps + native and WASM builds + prepared datasets + static site
#   ./build.sh start   build, then serve the lab on http://localhost:${PORT:-8080}/
#   ./build.sh test    build, then every test: C under ASan/UBSan, fuzzers, Node, Chromium
#
# A second run is fast: make rebuilds only what changed, npm ci runs only when
# package-lock.json changed, and dataset preparation skips shards that are current.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the project needs (python3-torch is only for regenerating golden files).
PACKAGES=(gcc make clang libclang-rt-14-dev emscripten chromium dataset-fashion-mnist)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node and npm may come from elsewhere (NodeSource ships npm inside its nodejs
  # package, which conflicts with Debian's npm), so ask for them only by command.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
      echo "build.sh: installing ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "build.sh: missing Debian packages. Run as root, or install them with:" >&2
      echo "  sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  # npm ci only when the lock file changed since the last install
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

build() {
  deps
  # Debian's emcc needs Debian's acorn, which lives in /usr/share/nodejs
  export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
  make -j"$(nproc)" native wasm
  node datasets/prepare.mjs
  node scripts/build-site.mjs
}

case "${1:-build}" in
  deps) deps ;;
  build) build ;;
  start)
    build
    exec node scripts/serve.mjs
    ;;
  test)
    build
    export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
    make -j"$(nproc)" build-tests
    make ctest
    make fuzz
    node --test --test-concurrency=1 tests/node/ tests/browser/
    ;;
  *)
    echo "usage: ./build.sh [deps|build|start|test]" >&2
    exit 2
    ;;
esac
