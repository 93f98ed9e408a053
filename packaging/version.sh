#!/bin/sh
# Prints dmypy-swift's version. The one source of truth is the constant that `dmypy --version`
# prints (Sources/dmypy/VersionReport.swift); the wheel, the Debian package and the README take it
# from here, and PackagingTests check that they agree.
set -eu
cd "$(dirname "$0")/.."
version=$(sed -n 's/^ *static let ours = "\([^"]*\)"$/\1/p' Sources/dmypy/VersionReport.swift)
[ -n "$version" ] || { echo "packaging/version.sh: no 'static let ours = \"…\"' in Sources/dmypy/VersionReport.swift" >&2; exit 1; }
echo "$version"
