#!/usr/bin/env bash
# Builds aludel and runs the example's migrations on the embedded SQLite default:
# upgrade to head, show where the database is, the history, and back down one step.
set -euo pipefail
cd "$(dirname "$0")"
# Cargo's own progress shows what it compiles; a first build takes a few minutes.
echo "Building aludel (release): a few minutes the first time, seconds afterwards" >&2
cargo build --release -p aludel-cli
aludel=../../target/release/aludel
rm -f bookstore.db
$aludel upgrade head
$aludel current
$aludel history --indicate-current
$aludel downgrade -1
$aludel current
$aludel upgrade head
