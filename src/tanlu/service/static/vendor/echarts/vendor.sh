#!/bin/sh
# Vendor Apache ECharts from the npm registry into this folder (README.md beside this file).
# npm pack verifies the tarball against the registry's integrity hash; the files are copied as
# they are in the package.
set -eu
version="${1:-6.1.0}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$version" >/dev/null && tar xzf "echarts-$version.tgz")
cp "$work/package/dist/echarts.min.js" "$work/package/LICENSE" "$work/package/NOTICE" "$here/"
cp "$work/package/licenses/LICENSE-d3" "$here/LICENSE-d3"
sha256sum "$here/echarts.min.js"
