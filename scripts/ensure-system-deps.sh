#!/usr/bin/env bash
# Install the Debian packages the tests need, when missing: PostgreSQL server binaries (records
# tests), Chromium with its driver (browser test) and Tesseract OCR (scanned pages at intake, which
# `make run` needs too). Idempotent and quiet; does nothing that is already there.
# Usage: scripts/ensure-system-deps.sh [postgres] [browser] [ocr]   (default: all three)
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(postgres browser ocr)

missing=()
for group in "${want[@]}"; do
  case "$group" in
    postgres)
      compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql) ;;
    browser)
      command -v chromium >/dev/null 2>&1 || missing+=(chromium)
      command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver) ;;
    ocr)
      command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
      [ -e /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || compgen -G "/usr/share/tesseract-ocr/*/tessdata/eng.traineddata" >/dev/null || missing+=(tesseract-ocr-eng) ;;
    *) echo "ensure-system-deps: unknown group '$group' (postgres, browser, ocr)" >&2; exit 2 ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-system-deps: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package starts a cluster of its own; the tests run their own server instead.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
  for conf in /etc/postgresql/*/main; do
    [ -d "$conf" ] || continue
    version=$(basename "$(dirname "$conf")")
    pg_ctlcluster "$version" main stop >/dev/null 2>&1 || true
  done
fi
echo "ensure-system-deps: installed ${missing[*]}"
