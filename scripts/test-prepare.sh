#!/usr/bin/env bash
# What the test suite needs from the machine, checked (and where possible provided) before any test runs.
# Run by `pnpm test` before the build; safe to run again.
#
# - Programs the integration tests use (Docker, the CNCF registry, a static busybox, htpasswd, the PostgreSQL
#   server binaries initdb and pg_ctl, which Debian keeps in /usr/lib/postgresql/<version>/bin, and Chromium for
#   the dashboard's browser tests, at /usr/bin/chromium or $VERTEX_LAUNCH_CHROMIUM): when one is
#   missing and this runs as root on a Debian-like system, it installs the Debian packages with apt-get;
#   otherwise it stops at once with one message naming what to install.
# - Services: starts dockerd (scripts/start-dockerd.sh) when it does not answer and this is root; otherwise
#   it says how to start it.
#
# Nothing here reaches beyond this machine except apt-get (Debian's mirrors).
set -euo pipefail
cd "$(dirname "$0")/.."

# program-to-check  debian-package  what-for
needs=(
  "dockerd docker.io builds/pushes images and runs job containers"
  "docker docker.io the Docker client the tests call"
  "docker-registry docker-registry the emulator's Artifact Registry backend"
  "htpasswd apache2-utils registry passwords"
  "busybox-static busybox-static the FROM-scratch base image of test images"
  "initdb postgresql the PostgreSQL queue store's tests start a private server (scripts/postgres-cluster.mjs)"
  "chromium chromium the dashboard's browser tests drive Debian's Chromium with playwright-core (packages/dashboard/test)"
)

# Debian's /bin/busybox may be the dynamic build (package busybox); test images are FROM scratch and need the static one.
have() {
  case "$1" in
    busybox-static) dpkg -s busybox-static >/dev/null 2>&1 && [ -x /bin/busybox ] ;;
    # The tests find the server binaries as scripts/postgres-cluster.mjs does: $VERTEX_LAUNCH_PG_BIN, the PATH, or
    # Debian's /usr/lib/postgresql/<version>/bin (the package also installs a system cluster; the tests never use it).
    initdb)
      { [ -n "${VERTEX_LAUNCH_PG_BIN:-}" ] && [ -x "$VERTEX_LAUNCH_PG_BIN/initdb" ]; } || command -v initdb >/dev/null 2>&1 ||
        compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
    chromium) { [ -n "${VERTEX_LAUNCH_CHROMIUM:-}" ] && [ -x "$VERTEX_LAUNCH_CHROMIUM" ]; } || [ -x /usr/bin/chromium ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
  esac
}

missing_pkgs=()
missing_why=()
for line in "${needs[@]}"; do
  read -r program pkg why <<<"$line"
  if ! have "$program"; then
    case " ${missing_pkgs[*]} " in *" $pkg "*) ;; *) missing_pkgs+=("$pkg"); missing_why+=("  $pkg: $why") ;; esac
  fi
done

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-prepare: installing ${missing_pkgs[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  else
    {
      echo "test-prepare: the tests need programs this machine does not have:"
      printf '%s\n' "${missing_why[@]}"
      echo "Install them, then run the tests again:"
      echo "  sudo apt-get install ${missing_pkgs[*]}"
    } >&2
    exit 1
  fi
fi

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    bash scripts/start-dockerd.sh
  else
    {
      echo "test-prepare: Docker does not answer on its socket (docker version failed)."
      echo "Start the daemon the way the project runs it, as root:"
      echo "  sudo bash scripts/start-dockerd.sh"
      echo "and make sure your user may use /var/run/docker.sock (the docker group), then run the tests again."
    } >&2
    exit 1
  fi
fi
pg_bin=$(node -e "import('./scripts/postgres-cluster.mjs').then((m) => console.log(m.findPostgresBin() ?? ''))")
if [ -z "$pg_bin" ]; then
  echo "test-prepare: initdb and pg_ctl are installed but not found where the tests look; set VERTEX_LAUNCH_PG_BIN to their directory." >&2
  exit 1
fi
echo "test-prepare: docker $(docker version --format '{{.Server.Version}}'), $(command -v docker-registry), static busybox, htpasswd, PostgreSQL $("$pg_bin/pg_ctl" --version | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1) ($pg_bin), ${VERTEX_LAUNCH_CHROMIUM:-/usr/bin/chromium}: ready"
