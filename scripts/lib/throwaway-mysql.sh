# Sourced by scripts/test and scripts/bench: starts a throwaway MariaDB server from the
# locally installed binaries and removes it on exit.
#
#   start_throwaway_mysql PORT
#
# sets mysql_url to the new server's `test` database (user root, no password) and
# installs an EXIT trap that stops the server and deletes its folder, after whatever
# throwaway PostgreSQL cleanup is pending. Fails with a message saying what to install
# when no server binaries are found.

throwaway_mysql_pid=""
throwaway_mysql_dir=""
throwaway_mysql_cleanup() {
  if [ -n "$throwaway_mysql_pid" ]; then
    printf '==> %s\n' "stopping the throwaway MariaDB" >&2
    kill "$throwaway_mysql_pid" 2>/dev/null || true
    wait "$throwaway_mysql_pid" 2>/dev/null || true
    rm -rf "$throwaway_mysql_dir"
  fi
}

start_throwaway_mysql() {
  local port=$1 server="" install=""
  server=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd /usr/sbin/mysqld 2>/dev/null | head -n 1 || true)
  install=$(command -v mariadb-install-db || command -v mysql_install_db || true)
  if [ -z "$server" ] || [ -z "$install" ]; then
    echo "error: no server binaries were found to start a throwaway MariaDB." >&2
    echo "Install MariaDB (Debian/Ubuntu: apt-get install mariadb-server; macOS: brew install mariadb)," >&2
    echo "or set ALUDEL_TEST_MYSQL_URL to a server where the user may create databases." >&2
    return 1
  fi
  local dir as_root="" client
  client=$(command -v mariadb || command -v mysql || true)
  if [ -z "$client" ]; then
    echo "error: the mariadb (or mysql) client is needed to set up a throwaway MariaDB; install it" >&2
    return 1
  fi
  dir=$(mktemp -d "${ALUDEL_PG_TMPDIR:-/tmp}/aludel-mysql.XXXXXX")
  throwaway_mysql_dir="$dir"
  trap 'throwaway_pg_cleanup 2>/dev/null || true; rm -rf "$throwaway_mysql_dir"' EXIT
  [ "$(id -u)" = 0 ] && as_root="--user=root"
  printf '==> %s\n' "starting a throwaway MariaDB from $server on port $port" >&2
  "$install" --no-defaults --datadir="$dir/data" $as_root --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  # Durability is not what the tests measure: the log is flushed once a second.
  "$server" --no-defaults --datadir="$dir/data" $as_root --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/sock" --pid-file="$dir/pid" --innodb-flush-log-at-trx-commit=2 \
    --skip-log-bin --max-connections=300 >"$dir/log" 2>&1 &
  throwaway_mysql_pid=$!
  trap 'throwaway_pg_cleanup 2>/dev/null || true; throwaway_mysql_cleanup' EXIT
  local i up=""
  for i in $(seq 1 150); do
    if mysql_answers "mysql://root@127.0.0.1:$port/"; then up=1; break; fi
    if ! kill -0 "$throwaway_mysql_pid" 2>/dev/null; then cat "$dir/log" >&2; return 1; fi
    sleep 0.2
  done
  if [ -z "$up" ]; then
    echo "error: the throwaway MariaDB did not answer within 30 s; its log:" >&2
    tail -n 20 "$dir/log" >&2
    return 1
  fi
  "$client" --protocol=tcp -h127.0.0.1 -P"$port" -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >/dev/null
  mysql_url="mysql://root@127.0.0.1:$port/test"
}

# Whether a MariaDB answers at URL (mysql://USER[:PASSWORD]@HOST[:PORT]/...): the
# mysql client when installed, else a TCP connect to the port.
mysql_answers() {
  local rest=${1#*://} userinfo hostport user pass host port
  userinfo=${rest%%@*}; hostport=${rest#*@}; hostport=${hostport%%/*}
  user=${userinfo%%:*}; pass=""; [ "$user" != "$userinfo" ] && pass=${userinfo#*:}
  host=${hostport%%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=3306
  local client
  client=$(command -v mariadb || command -v mysql || true)
  if [ -n "$client" ]; then
    MYSQL_PWD="$pass" "$client" --protocol=tcp -h"$host" -P"$port" -u"$user" -e 'select 1' >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}
