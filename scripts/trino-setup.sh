#!/bin/sh
# Why: the real-Trino suite (npm run test:trino) and bench:trino --real need Trino's own server, CLI and
# JDBC driver. They come from Maven Central with the ordinary Maven client, once per machine, into a
# cache folder outside the repository (HOTPATH_TRINO_CACHE, default ~/.cache/hotpath-trino): Trino 476
# is the newest server published there; trino-server-core plus the tpch and memory plugin zips (~225 MB)
# is all the suite needs, not the 821 MB full tarball. Trino 476 needs Java 24+: the newest JDK under
# /usr/lib/jvm (or HOTPATH_TRINO_JAVA_HOME / JAVA_HOME when new enough) is used. Maven checks each
# download against Central's checksums. Prints KEY=value lines for the test helpers.
set -eu
SERVER_VERSION=476
CLI_VERSION=476
JDBC_VERSION=483
CACHE="${HOTPATH_TRINO_CACHE:-$HOME/.cache/hotpath-trino}"
mkdir -p "$CACHE"

say() { echo "trino-setup: $*" >&2; }

# A JDK whose major version is at least 24 (Trino 476's floor).
java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
pick_java() {
  for home in "${HOTPATH_TRINO_JAVA_HOME:-}" "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do
    [ -n "$home" ] && [ -x "$home/bin/java" ] || continue
    major=$(java_major "$home")
    if [ -n "$major" ] && [ "$major" -ge 24 ]; then echo "$home"; return 0; fi
  done
  return 1
}
JAVA_HOME_FOUND=$(pick_java) || { say "no JDK 24+ found (looked at HOTPATH_TRINO_JAVA_HOME, JAVA_HOME, /usr/lib/jvm/*); Trino $SERVER_VERSION needs one"; exit 3; }

if ! command -v mvn >/dev/null 2>&1; then
  say "installing maven (Debian package)"
  apt-get update -qq >&2 && apt-get install -y -qq maven >/dev/null
fi

fetch() { # group:artifact:version:type[:classifier] file
  if [ ! -s "$CACHE/$2" ]; then
    say "fetching $1 from Maven Central"
    JAVA_HOME="$JAVA_HOME_FOUND" mvn -B -q dependency:copy -Dartifact="$1" -DoutputDirectory="$CACHE" >&2
  fi
  [ -s "$CACHE/$2" ] || { say "$1 did not arrive as $CACHE/$2"; exit 4; }
}
fetch "io.trino:trino-server-core:$SERVER_VERSION:tar.gz" "trino-server-core-$SERVER_VERSION.tar.gz"
fetch "io.trino:trino-tpch:$SERVER_VERSION:zip" "trino-tpch-$SERVER_VERSION.zip"
fetch "io.trino:trino-memory:$SERVER_VERSION:zip" "trino-memory-$SERVER_VERSION.zip"
fetch "io.trino:trino-cli:$CLI_VERSION:jar:executable" "trino-cli-$CLI_VERSION-executable.jar"
fetch "io.trino:trino-jdbc:$JDBC_VERSION:jar" "trino-jdbc-$JDBC_VERSION.jar"

HOME_DIR="$CACHE/trino-server-core-$SERVER_VERSION"
if [ ! -f "$HOME_DIR/.hotpath-ready" ]; then
  say "unpacking Trino $SERVER_VERSION with the tpch and memory plugins"
  rm -rf "$HOME_DIR"
  tar -xzf "$CACHE/trino-server-core-$SERVER_VERSION.tar.gz" -C "$CACHE"
  mkdir -p "$HOME_DIR/plugin"
  (cd "$HOME_DIR/plugin" && unzip -q "$CACHE/trino-tpch-$SERVER_VERSION.zip" && unzip -q "$CACHE/trino-memory-$SERVER_VERSION.zip")
  touch "$HOME_DIR/.hotpath-ready"
fi

echo "TRINO_VERSION=$SERVER_VERSION"
echo "TRINO_HOME=$HOME_DIR"
echo "TRINO_JAVA_HOME=$JAVA_HOME_FOUND"
echo "TRINO_CLI_JAR=$CACHE/trino-cli-$CLI_VERSION-executable.jar"
echo "TRINO_JDBC_JAR=$CACHE/trino-jdbc-$JDBC_VERSION.jar"
