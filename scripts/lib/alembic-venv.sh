# Sourced by scripts/test and scripts/alembic-diff/run: makes the Python venv under
# target/ that holds Alembic and SQLAlchemy at the pins of
# scripts/alembic-diff/requirements.txt (kept while those pins match), for the
# differential test against Alembic and the tests of the SQLAlchemy recipe.
#
#   ensure_alembic_venv ROOT
#
# sets alembic_python to the venv's python, or fails saying what to install.

ensure_alembic_venv() {
  local root=$1
  local venv="$root/target/alembic-venv"
  local req="$root/scripts/alembic-diff/requirements.txt"
  if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 is missing; install Python 3.9 or newer (e.g. apt-get install python3 python3-venv)" >&2
    return 1
  fi
  if [ ! -f "$venv/.requirements" ] || ! cmp -s "$req" "$venv/.requirements"; then
    printf '==> %s\n' "creating $venv (Alembic and SQLAlchemy from PyPI)" >&2
    rm -rf "$venv"
    local err
    err=$(mktemp)
    if ! python3 -m venv "$venv" 2>"$err"; then
      cat "$err" >&2; rm -f "$err"
      echo "'python3 -m venv' does not work here; install the venv module (e.g. apt-get install python3-venv)" >&2
      return 1
    fi
    rm -f "$err"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements"
  fi
  alembic_python="$venv/bin/python"
}
