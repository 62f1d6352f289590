#!/usr/bin/env bash
# Installs what offline-jobs needs on a Debian machine (run as root): the npm packages, the
# Debian packages its handlers call (ffmpeg, poppler-utils, zip), chromium for the jobs page's
# browser tests, and a running MariaDB for the demo and the tests. Safe to run again: it installs only what is missing, and says what
# it did.
#
#   bash scripts/setup.sh             do it
#   bash scripts/setup.sh --dry-run   print the plan for this machine and change nothing
#
# On a bare Debian 12 with Node.js 20 and no database server, it installs mariadb-server from
# Debian's packages, starts it, and lets root in with an empty password over 127.0.0.1 (what
# the demo and the tests use): a development machine's set-up, done only to a server this
# script installed itself, never to one that was already there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

DRY_RUN=false
case "${1:-}" in
  --dry-run) DRY_RUN=true ;;
  "") ;;
  *) echo "usage: bash scripts/setup.sh [--dry-run]" >&2; exit 2 ;;
esac

# Runs a step, or in a dry run prints it.
step() {
  if $DRY_RUN; then echo "would run: $*"; else "$@"; fi
}

echo "--- npm ci"
step npm ci

# Debian packages the handlers, tests and demo need, as "command:package": installed only if
# the command is missing. chromium is the jobs page's real-browser tests' browser (driven by
# playwright-core, which downloads none).
REQUIRED_TOOLS=(
  "ffmpeg:ffmpeg"
  "ffprobe:ffmpeg"
  "pdftoppm:poppler-utils"
  "pdfinfo:poppler-utils"
  "pdftotext:poppler-utils"
  "zip:zip"
  "prlimit:util-linux"
  "chromium:chromium"
)

server_answers() {
  command -v mariadb-admin >/dev/null 2>&1 && mariadb-admin -uroot --connect-timeout=2 ping >/dev/null 2>&1
}
# The server program, looked up on the PATH (root's includes /usr/sbin): a test can hide it.
server_binary() {
  command -v mariadbd 2>/dev/null || command -v mysqld 2>/dev/null || true
}

missing=()
for entry in "${REQUIRED_TOOLS[@]}"; do
  package=${entry#*:}
  if ! command -v "${entry%%:*}" >/dev/null 2>&1 && [[ " ${missing[*]} " != *" $package "* ]]; then
    missing+=("$package")
  fi
done
# The loopback Galera cluster of scripts/galera.sh (the cluster tests): its provider library and
# rsync, which moves a whole data folder to a node that joins.
[ -f /usr/lib/galera/libgalera_smm.so ] || missing+=(galera-4)
command -v rsync >/dev/null 2>&1 || [[ " ${missing[*]} " == *" rsync "* ]] || missing+=(rsync)
INSTALLED_SERVER=false
if ! server_answers && [ -z "$(server_binary)" ]; then
  echo "no MariaDB server answers and none is installed: mariadb-server will be installed"
  missing+=(mariadb-server mariadb-client)
  INSTALLED_SERVER=true
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "--- apt-get install ${missing[*]}"
  if ! $DRY_RUN; then
    # dpkg refuses to install anything while its statoverride file names a user or group that
    # no longer exists (seen on these machines: redis's, after the redis user was removed).
    # Dropping such an entry is the repair dpkg itself suggests; entries that resolve are kept.
    while read -r owner group _mode file; do
      if [ -n "$file" ] && { ! getent passwd "$owner" >/dev/null || ! getent group "$group" >/dev/null; }; then
        echo "dpkg-statoverride: removing the stale entry for $file ($owner:$group no longer exists)"
        dpkg-statoverride --remove "$file" || true
      fi
    done < <(dpkg-statoverride --list 2>/dev/null || true)
  fi
  step apt-get update
  step apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "--- Debian packages: all present"
fi

echo "--- MariaDB"
if server_answers; then
  echo "MariaDB answers: $(mariadb -uroot -N -B -e 'SELECT VERSION()')"
  exit 0
fi
echo "MariaDB does not answer: starting it"
if $DRY_RUN; then
  echo "would run: /etc/init.d/mariadb start (or start-stop-daemon --start --background --exec $(server_binary | grep . || echo /usr/sbin/mariadbd))"
  $INSTALLED_SERVER && echo "would run: mariadb -uroot (grant root an empty password on localhost and 127.0.0.1, create the database test)"
  exit 0
fi
# Debian's init script makes /run/mysqld and starts the server as the mysql user; where there
# is none (a minimal image), the server binary is started directly, as the machine's own
# services are.
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
if [ -x /etc/init.d/mariadb ]; then
  /etc/init.d/mariadb start || true
fi
if ! server_answers; then
  start-stop-daemon --start --oknodo --background --exec "$(server_binary)"
fi
for _ in $(seq 60); do
  server_answers && break
  sleep 1
done
if ! server_answers; then
  echo "MariaDB did not answer within 60 s" >&2
  exit 1
fi
if $INSTALLED_SERVER; then
  echo "MariaDB was installed here: root may log in with an empty password on localhost and 127.0.0.1 (for the demo and the tests)"
  mariadb -uroot <<'SQL'
ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS test;
SQL
fi
echo "MariaDB answers: $(mariadb -uroot -N -B -e 'SELECT VERSION()')"
