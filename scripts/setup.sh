#!/usr/bin/env bash
# Installs what offline-jobs needs on a Debian machine (run as root): the npm packages, the
# Debian packages its handlers call (ffmpeg, poppler-utils, zip), and a running MariaDB for
# the demo and the tests. Safe to run again: it installs only what is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

echo "--- npm ci"
npm ci

# Debian packages the handlers, tests and demo need, as "command:package": installed only if
# the command is missing.
REQUIRED_TOOLS=(
  "ffmpeg:ffmpeg"
  "ffprobe:ffmpeg"
  "pdftoppm:poppler-utils"
  "pdfinfo:poppler-utils"
  "pdftotext:poppler-utils"
  "zip:zip"
)

missing=()
for entry in "${REQUIRED_TOOLS[@]}"; do
  command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "--- apt-get install ${missing[*]}"
  # dpkg refuses to install anything while its statoverride file names a user or group that
  # no longer exists (seen on these machines: redis's, after the redis user was removed).
  # Dropping such an entry is the repair dpkg itself suggests; entries that resolve are kept.
  while read -r owner group _mode file; do
    if [ -n "$file" ] && { ! getent passwd "$owner" >/dev/null || ! getent group "$group" >/dev/null; }; then
      echo "dpkg-statoverride: removing the stale entry for $file ($owner:$group no longer exists)"
      dpkg-statoverride --remove "$file" || true
    fi
  done < <(dpkg-statoverride --list 2>/dev/null || true)
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "--- Debian packages: all present"
fi

echo "--- MariaDB"
if ! mariadb-admin -uroot ping >/dev/null 2>&1; then
  echo "MariaDB does not answer: starting it"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 60); do
    mariadb-admin -uroot ping >/dev/null 2>&1 && break
    sleep 1
  done
  if ! mariadb-admin -uroot ping >/dev/null 2>&1; then
    echo "MariaDB did not answer within 60 s" >&2
    exit 1
  fi
fi
echo "MariaDB answers: $(mariadb -uroot -N -B -e 'SELECT VERSION()')"

