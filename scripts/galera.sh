#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on loopback, for the cluster tests and benchmarks: each
# node a mariadbd of its own with its data, socket and log in a folder of its own under
# $GALERA_DIR, state transfers (SST) by rsync. Needs Debian's galera-4 and rsync
# (scripts/setup.sh installs them).
#
#   bash scripts/galera.sh start     bootstrap node 1, join 2 and 3, wait until all are Synced
#   bash scripts/galera.sh stop      stop the three nodes (SIGTERM, then SIGKILL after 30 s)
#   bash scripts/galera.sh status    each node's pid, wsrep_cluster_size and state
#   bash scripts/galera.sh urls      the nodes' URLs, one per line (root, no password)
#
# Ports: SQL 3311-3313, Galera replication 4571-4573, IST 4581-4583, SST 4591-4593 (set
# GALERA_BASE_PORT to move the SQL ports, e.g. 3321 for 3321-3323). Node N of the cluster is
# mysql://root@127.0.0.1:$((GALERA_BASE_PORT + N - 1)).
set -euo pipefail

GALERA_DIR=${GALERA_DIR:-${TMPDIR:-/tmp}/offline-jobs-galera}
BASE=${GALERA_BASE_PORT:-3311}
PROVIDER=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
NODES=(1 2 3)
RUN_AS=${GALERA_USER:-mysql}

sql_port() { echo $((BASE + $1 - 1)); }
wsrep_port() { echo $((BASE + 1260 + $1 - 1)); }
ist_port() { echo $((BASE + 1270 + $1 - 1)); }
sst_port() { echo $((BASE + 1280 + $1 - 1)); }
node_dir() { echo "$GALERA_DIR/node$1"; }
pid_of() { cat "$(node_dir "$1")/mariadbd.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
client() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$(sql_port "$1")" --connect-timeout=2 -N -B -e "$2" 2>/dev/null; }
status_of() { client "$1" "SHOW STATUS LIKE '$2'" | cut -f2; }

cluster_address() {
  local peers=()
  for n in "${NODES[@]}"; do peers+=("127.0.0.1:$(wsrep_port "$n")"); done
  (IFS=,; echo "gcomm://${peers[*]}")
}

start_node() {
  local n=$1 bootstrap=${2:-}
  local dir; dir=$(node_dir "$n")
  if alive "$n"; then echo "node $n already runs (pid $(pid_of "$n"))"; return; fi
  mkdir -p "$dir/tmp"
  # The nodes run as the mysql account: the rsync daemon that receives a state transfer drops
  # root's rights, and could not write into a data folder only root may enter.
  chown -R "$RUN_AS" "$GALERA_DIR"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --user="$RUN_AS" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  fi
  local address; address=$(cluster_address)
  [ "$bootstrap" = bootstrap ] && address="gcomm://"
  # A node that was killed left seqno -1 in grastate.dat: without its position it would ask for
  # a full state transfer (SST). Reading the position from InnoDB first (--wsrep-recover, what
  # Debian's galera_recovery does for systemd) lets it rejoin by IST, the cluster sending only
  # the writesets it missed.
  local position=()
  if [ -f "$dir/data/grastate.dat" ] && grep -q '^seqno: *-1' "$dir/data/grastate.dat"; then
    rm -f "$dir/recover.log"
    mariadbd --no-defaults --user="$RUN_AS" --datadir="$dir/data" --tmpdir="$dir/tmp" --log-error="$dir/recover.log" \
      --skip-networking --socket="$dir/recover.sock" --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
      --binlog-format=ROW --innodb-autoinc-lock-mode=2 --wsrep-on=ON --wsrep-provider="$PROVIDER" \
      --wsrep-cluster-address=gcomm:// --wsrep-sst-method=rsync --wsrep-recover >/dev/null 2>&1 || true
    local recovered; recovered=$( (sed -n 's/.*WSREP: Recovered position: *//p' "$dir/recover.log" 2>/dev/null || true) | tail -n 1)
    if [ -n "$recovered" ]; then position=(--wsrep-start-position="$recovered"); fi
  fi
  # binlog_format=ROW and innodb_autoinc_lock_mode=2 are what Galera requires; the small
  # buffers keep three nodes within a test machine's memory.
  mariadbd --no-defaults --user="$RUN_AS" \
    --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$dir/sock" --pid-file="$dir/mariadbd.pid" \
    --log-error="$dir/error.log" --port="$(sql_port "$n")" --bind-address=127.0.0.1 --skip-name-resolve \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
    --binlog-format=ROW --innodb-autoinc-lock-mode=2 --default-storage-engine=InnoDB "${position[@]}" \
    --wsrep-on=ON --wsrep-provider="$PROVIDER" --wsrep-cluster-name=offline-jobs-test \
    --wsrep-cluster-address="$address" --wsrep-node-name="node$n" \
    --wsrep-node-address="127.0.0.1:$(wsrep_port "$n")" \
    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$(wsrep_port "$n");ist.recv_addr=127.0.0.1:$(ist_port "$n")" \
    --wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:$(sst_port "$n")" \
    --wsrep-slave-threads=2 >/dev/null 2>&1 &
  disown
  wait_synced "$n"
}

# Waits until node N answers and says Synced, or fails with the end of its log.
wait_synced() {
  local n=$1
  for _ in $(seq 120); do
    if [ "$(status_of "$n" wsrep_local_state_comment)" = Synced ]; then
      echo "node $n Synced on port $(sql_port "$n") (cluster size $(status_of "$n" wsrep_cluster_size))"
      return
    fi
    sleep 1
  done
  echo "node $n did not reach Synced within 120 s; its log ends:" >&2
  tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
  exit 1
}

start() {
  command -v mariadbd >/dev/null && [ -f "$PROVIDER" ] && command -v rsync >/dev/null || {
    echo "galera.sh needs mariadbd, galera-4 ($PROVIDER) and rsync: bash scripts/setup.sh installs them" >&2
    exit 1
  }
  # A cluster all of whose nodes stopped must be bootstrapped again from one of them: Galera
  # asks for safe_to_bootstrap in grastate.dat, which a clean stop of the last node sets.
  local running=0
  for n in "${NODES[@]}"; do alive "$n" && running=$((running + 1)); done
  if [ "$running" -eq 0 ]; then
    local state; state="$(node_dir 1)/data/grastate.dat"
    [ -f "$state" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$state"
    start_node 1 bootstrap
  else
    start_node 1
  fi
  start_node 2
  start_node 3
  local size; size=$(status_of 1 wsrep_cluster_size)
  [ "$size" = 3 ] || { echo "the cluster has $size node(s), not 3" >&2; exit 1; }
  echo "cluster of 3 ready: $(urls | tr '\n' ' ')"
}

stop() {
  for n in 3 2 1; do
    alive "$n" || continue
    local pid; pid=$(pid_of "$n")
    kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "node $n stopped"
  done
}

status() {
  for n in "${NODES[@]}"; do
    if alive "$n"; then
      echo "node $n: pid $(pid_of "$n"), port $(sql_port "$n"), cluster size $(status_of "$n" wsrep_cluster_size), $(status_of "$n" wsrep_local_state_comment)"
    else
      echo "node $n: not running"
    fi
  done
}

urls() {
  for n in "${NODES[@]}"; do echo "mysql://root@127.0.0.1:$(sql_port "$n")"; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  urls) urls ;;
  destroy) stop; rm -rf "$GALERA_DIR" ;;
  *) echo "usage: bash scripts/galera.sh start|stop|status|urls|destroy" >&2; exit 2 ;;
esac
