#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and CI.
#
#   scripts/postgres.sh install               install Debian's postgresql package when missing
#   scripts/postgres.sh start <dir> <port>    create a cluster in <dir>, start it on 127.0.0.1:<port>,
#                                             print its connection URL as the last line of stdout
#   scripts/postgres.sh restart <dir>         restart it (fast shutdown), keeping port and settings
#   scripts/postgres.sh stop <dir>            stop it (fast shutdown) and remove <dir>
#
# Binaries come from /usr/lib/postgresql/<highest version>/bin, never from PATH.
# initdb and postgres refuse to run as root, so as root they run as the `postgres` OS user.
# Everything but the URL goes to stderr, so callers can read stdout as-is.
set -euo pipefail

usage() {
  echo "usage: $0 install | start <dir> <port> | restart <dir> | stop <dir>" >&2
  exit 2
}

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# Prints the bin directory of the highest installed PostgreSQL version, or nothing.
find_bindir() {
  local dir best=''
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      best="$dir"
    fi
  done
  printf '%s' "$best"
}

require_bindir() {
  BINDIR="$(find_bindir)"
  [ -n "$BINDIR" ] || die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)"
}

is_root() {
  [ "$(id -u)" -eq 0 ]
}

# Runs a PostgreSQL binary as the cluster owner: `postgres` when we are root, else ourselves.
# Runs from / so a working directory the owner cannot enter does not matter.
as_owner() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# The absolute path of $1 (which may not exist yet).
absolute() {
  case "$1" in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "$1" ;;
  esac
}

print_log_tail() {
  local log="$1/postgres.log"
  if [ -f "$log" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 20 "$log" >&2 || true
  fi
}

cmd_install() {
  if [ -n "$(find_bindir)" ]; then
    echo "PostgreSQL already installed: $(find_bindir)" >&2
    return 0
  fi
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null || die "installing PostgreSQL needs root (or sudo)"
    sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
  fi
  export DEBIAN_FRONTEND=noninteractive
  local apt_install=(apt-get install -y --no-install-recommends
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  "${sudo[@]}" apt-get update
  # Tell Debian not to create (and start) its default cluster: tests make their own.
  "${sudo[@]}" "${apt_install[@]}" postgresql-common
  if [ -f /etc/postgresql-common/createcluster.conf ]; then
    "${sudo[@]}" sed -i -E 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
      /etc/postgresql-common/createcluster.conf
  fi
  "${sudo[@]}" "${apt_install[@]}" postgresql
  [ -n "$(find_bindir)" ] || die "installed the postgresql package but found no /usr/lib/postgresql/*/bin/initdb"
  echo "PostgreSQL installed: $(find_bindir)" >&2
}

cmd_start() {
  [ $# -eq 2 ] || usage
  local dir port
  dir="$(absolute "$1")"
  port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port: $port"
  # A unix socket path is limited to 107 bytes.
  [ "${#dir}" -le 80 ] || die "data directory path too long for a unix socket (max 80 chars): $dir"
  require_bindir

  mkdir -p "$dir"
  if is_root; then
    chown postgres: "$dir"
    chmod 700 "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "the postgres OS user cannot write $dir (is a parent directory closed to it?)"
  fi

  if [ ! -f "$dir/PG_VERSION" ]; then
    local out
    if ! out="$(as_owner "$BINDIR/initdb" -D "$dir" -A trust -U postgres --no-sync -E UTF8 \
      --locale=C --no-instructions 2>&1)"; then
      echo "$out" >&2
      die "initdb failed in $dir"
    fi
    # Settings live in the config file, so `pg_ctl restart` keeps them.
    as_owner tee -a "$dir/postgresql.conf" >/dev/null <<EOF

# --- throwaway test cluster (scripts/postgres.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_owner touch "$dir/.resthooks-test-cluster"
  fi

  if ! as_owner "$BINDIR/pg_ctl" start -s -D "$dir" -l "$dir/postgres.log" -w -t 30 >&2; then
    print_log_tail "$dir"
    die "PostgreSQL did not start (data directory $dir, port $port)"
  fi
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

cmd_restart() {
  [ $# -eq 1 ] || usage
  local dir
  dir="$(absolute "$1")"
  [ -f "$dir/PG_VERSION" ] || die "no cluster in $dir"
  require_bindir
  if ! as_owner "$BINDIR/pg_ctl" restart -s -D "$dir" -l "$dir/postgres.log" -m fast -w -t 30 >&2; then
    print_log_tail "$dir"
    die "PostgreSQL did not restart (data directory $dir)"
  fi
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir
  dir="$(absolute "$1")"
  [ -d "$dir" ] || return 0
  if [ -f "$dir/postmaster.pid" ]; then
    require_bindir
    as_owner "$BINDIR/pg_ctl" stop -s -D "$dir" -m fast -w -t 30 >&2 ||
      echo "postgres.sh: pg_ctl stop failed; removing $dir anyway" >&2
  fi
  # Only remove what looks like a cluster of ours (or an empty directory).
  if [ -f "$dir/PG_VERSION" ] || [ -f "$dir/.resthooks-test-cluster" ] || [ -z "$(ls -A "$dir")" ]; then
    rm -rf "$dir"
  else
    die "not removing $dir: it does not look like a PostgreSQL data directory"
  fi
}

[ $# -ge 1 ] || usage
command="$1"
shift
case "$command" in
  install) [ $# -eq 0 ] || usage; cmd_install ;;
  start) cmd_start "$@" ;;
  restart) cmd_restart "$@" ;;
  stop) cmd_stop "$@" ;;
  *) usage ;;
esac
