#!/usr/bin/env bash
# Java (to run the Kafka broker), Maven (to fetch its jars once), and Chromium with CJK fonts (the
# HTML report's browser test renders it headless), from Debian's packages.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "prereqs: missing ${missing[*]}; install them (e.g. sudo apt-get install -y ${missing[*]}) and re-run" >&2
  exit 1
fi
echo "prereqs: installing ${missing[*]} from Debian packages ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
