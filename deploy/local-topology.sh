#!/usr/bin/env bash
# The production shape on one machine, on free local ports:
#
#   gateway x3 ──> PgBouncer (transaction pooling) ──> PostgreSQL primary
#        │  └────> streaming replica (reads)              ^
#        │  └────> LISTEN on the primary directly ────────┘
#        └───────> Redis (rate limit, persisted queries)
#
# Usage: deploy/local-topology.sh up [--seed N]   starts it all, prints the addresses
#        deploy/local-topology.sh status          what is running
#        deploy/local-topology.sh down            stops it all and removes its files
#
# Everything lives under $TOPOLOGY_DIR (default /tmp/sessiongraph-topology):
# a PostgreSQL cluster of its own (initdb), its replica, PgBouncer's ini,
# Redis, the gateways' logs, and `env`, a file of the addresses to source.
# The gateway binary is $SESSIONGRAPH_BIN, or target/release/sessiongraph
# (built when missing). Needs PostgreSQL's server binaries, pgbouncer and
# redis-server (Debian: postgresql, pgbouncer, redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${TOPOLOGY_DIR:-/tmp/sessiongraph-topology}
command=${1:-}
shift || true

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x "$bin/pg_ctl" ]] || { echo "PostgreSQL's server binaries are not installed" >&2; exit 1; }
  echo "$bin"
}

# PostgreSQL and PgBouncer refuse to run as root: as root, they run as postgres.
as_db_user() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
  local port=$1 what=$2
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$what did not listen on $port" >&2
  exit 1
}

up() {
  local sessions=2000
  while [[ $# -gt 0 ]]; do
    case $1 in
      --seed) sessions=$2; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  if [[ -e "$dir/env" ]]; then
    echo "already up (see $dir/env); run '$0 down' first" >&2
    exit 1
  fi
  local bin binary
  bin=$(pg_bin)
  binary=${SESSIONGRAPH_BIN:-target/release/sessiongraph}
  if [[ ! -x "$binary" ]]; then
    cargo build --release --quiet
  fi
  binary=$(realpath "$binary")
  mkdir -p "$dir"
  chmod 755 "$dir"
  [[ $(id -u) == 0 ]] && chown postgres "$dir"

  local primary_port replica_port bouncer_port redis_port
  primary_port=$(free_port); replica_port=$(free_port)
  bouncer_port=$(free_port); redis_port=$(free_port)

  # The primary: a cluster of its own, accepting replication from loopback.
  as_db_user "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust >"$dir/initdb.log"
  printf 'host replication all 127.0.0.1/32 trust\n' >>"$dir/primary/pg_hba.conf"
  as_db_user "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w \
    -o "-p $primary_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start >/dev/null
  psql -h 127.0.0.1 -p "$primary_port" -U postgres -qc "CREATE DATABASE sessions"

  # The replica: a base backup with its own slot, streaming from the primary.
  as_db_user "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
    -D "$dir/replica" -R -X stream -c fast -C -S topology_replica
  as_db_user "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w \
    -o "-p $replica_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start >/dev/null

  # PgBouncer in transaction pooling mode, as shipped: no
  # ignore_startup_parameters.
  printf '"postgres" ""\n' >"$dir/pgbouncer-users.txt"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$primary_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/pgbouncer-users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 20
server_login_retry = 1
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  [[ $(id -u) == 0 ]] && chown postgres "$dir"/pgbouncer*
  if [[ $(id -u) == 0 ]]; then
    pgbouncer -d -u postgres "$dir/pgbouncer.ini"
  else
    pgbouncer -d "$dir/pgbouncer.ini"
  fi
  wait_for_port "$bouncer_port" PgBouncer

  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  wait_for_port "$redis_port" Redis

  local pooled="postgres://postgres@127.0.0.1:$bouncer_port/sessions?sslmode=disable"
  local direct="postgres://postgres@127.0.0.1:$primary_port/sessions?sslmode=disable"
  local replica="postgres://postgres@127.0.0.1:$replica_port/sessions?sslmode=disable"
  "$binary" migrate --database-url "$pooled" >/dev/null
  "$binary" seed --database-url "$pooled" --sessions "$sessions" >/dev/null

  local gateways=()
  for n in 1 2 3; do
    local port
    port=$(free_port)
    DATABASE_URL=$pooled \
      SESSIONGRAPH_NOTIFY_DATABASE_URL=$direct \
      SESSIONGRAPH_REPLICA_DATABASE_URLS=$replica \
      SESSIONGRAPH_REDIS_URL="redis://127.0.0.1:$redis_port" \
      SESSIONGRAPH_LISTEN="127.0.0.1:$port" \
      RUST_LOG=${RUST_LOG:-info,sqlx=warn,sea_orm_migration=warn} \
      nohup "$binary" serve >"$dir/gateway$n.log" 2>&1 &
    echo $! >"$dir/gateway$n.pid"
    gateways+=("http://127.0.0.1:$port")
  done
  for url in "${gateways[@]}"; do
    for _ in $(seq 1 100); do
      curl -fs "$url/readyz" >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -fs "$url/readyz" >/dev/null || { echo "$url never became ready" >&2; exit 1; }
  done

  cat >"$dir/env" <<EOF
GATEWAYS="${gateways[*]}"
PRIMARY_URL=$direct
PGBOUNCER_URL=$pooled
PGBOUNCER_ADMIN="psql -h 127.0.0.1 -p $bouncer_port -U postgres pgbouncer"
REPLICA_URL=$replica
REDIS_URL=redis://127.0.0.1:$redis_port
PG_BIN=$bin
TOPOLOGY_DIR=$dir
EOF
  status
}

status() {
  [[ -e "$dir/env" ]] || { echo "not up"; return 0; }
  cat "$dir/env"
}

down() {
  [[ -d "$dir" ]] || return 0
  local bin
  bin=$(pg_bin)
  for pid in "$dir"/gateway*.pid; do
    [[ -e "$pid" ]] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  [[ -e "$dir/pgbouncer.pid" ]] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
  [[ -e "$dir/redis.pid" ]] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  for cluster in replica primary; do
    if [[ -e "$dir/$cluster/postmaster.pid" ]]; then
      as_db_user "$bin/pg_ctl" -D "$dir/$cluster" -m fast -w stop >/dev/null || true
    fi
  done
  rm -rf "$dir"
  echo "down"
}

case $command in
  up) up "$@" ;;
  status) status ;;
  down) down ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
