# Sourced by scripts/test and scripts/bench: starts a throwaway PostgreSQL cluster from
# the locally installed server binaries and removes it on exit.
#
#   start_throwaway_pg PORT tls|notls [SERVER OPTIONS...]
#
# sets pg_url to the new cluster's postgres database and installs an EXIT trap that
# stops the server and deletes its folder. With `tls` the server offers TLS with a
# self-signed certificate (made with openssl; without openssl it says so and runs
# without). Fails with a message saying what to install when no server binaries are
# found.

throwaway_pg_stop=""
throwaway_pg_dir=""
throwaway_pg_cleanup() {
  if [ -n "$throwaway_pg_stop" ]; then
    printf '==> %s\n' "stopping the throwaway PostgreSQL" >&2
    $throwaway_pg_stop >/dev/null 2>&1 || true
    rm -rf "$throwaway_pg_dir"
  fi
}

start_throwaway_pg() {
  local port=$1 tls=$2; shift 2
  local bindir=""
  if command -v pg_ctl >/dev/null 2>&1; then bindir=$(dirname "$(command -v pg_ctl)");
  else bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true); fi
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "error: no server binaries were found to start a throwaway PostgreSQL." >&2
    echo "Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql)," >&2
    echo "or point the URL variable at a server where the user may create databases." >&2
    return 1
  fi
  local dir as=""
  dir=$(mktemp -d "${ALUDEL_PG_TMPDIR:-/tmp}/aludel-pg.XXXXXX")
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"; as="runuser -u postgres --"
  fi
  throwaway_pg_dir="$dir"
  trap throwaway_pg_cleanup EXIT
  printf '==> %s\n' "starting a throwaway PostgreSQL from $bindir on port $port" >&2
  $as "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
  local ssl_opts=""
  if [ "$tls" = tls ]; then
    if command -v openssl >/dev/null 2>&1; then
      openssl req -new -x509 -days 2 -nodes -subj /CN=localhost \
        -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1
      chmod 600 "$dir/server.key"
      [ -n "$as" ] && chown postgres "$dir/server.key" "$dir/server.crt"
      ssl_opts="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    else
      printf '==> %s\n' "openssl not found: the throwaway server runs without TLS" >&2
    fi
  fi
  $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $ssl_opts $*" start >/dev/null
  throwaway_pg_stop="$as $bindir/pg_ctl -D $dir/data -m immediate stop"
  pg_url="postgresql://postgres@127.0.0.1:$port/postgres"
}
