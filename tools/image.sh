#!/usr/bin/env bash
# Builds the collection job's image from deploy/Dockerfile with buildah, without a Docker daemon.
#
#   tools/image.sh build      the base images, then deploy/Dockerfile, then an OCI archive
#   tools/image.sh base       only the base images debian:12 and debian:12-slim
#   tools/image.sh packages   the image's installed Debian packages, one "name version" a line
#   tools/image.sh size       the image's size as buildah reports it
#
# The Dockerfile stays an ordinary one (`docker build -f deploy/Dockerfile .` builds it as is);
# only its `FROM debian:12` / `FROM debian:12-slim` need satisfying. They are pulled from Docker
# Hub when it answers; otherwise one Debian 12 root file system is made with
# `debootstrap --variant=minbase bookworm` from Debian's archive, trimmed like the slim image
# (no documentation, manual pages or translations), and stored under both names. The root file
# system is cached per machine ($IMAGE_CACHE, rebuilt when older than $IMAGE_BASE_MAX_DAYS days
# or with IMAGE_BASE_REFRESH=1), because debootstrap takes a minute or two.
#
# Everything buildah keeps (images, layers, containers) is in $IMAGE_STORE with the vfs storage
# driver (no overlay mounts needed), so the machine's own containers configuration is neither
# read for storage nor changed. Steps run with chroot isolation (no user namespaces, no runc).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/vzgen:latest}
IMAGE_STORE=${IMAGE_STORE:-build/image/storage}
IMAGE_CACHE=${IMAGE_CACHE:-/var/cache/vzgen-image}
IMAGE_BASE_MAX_DAYS=${IMAGE_BASE_MAX_DAYS:-30}
IMAGE_ARCHIVE=${IMAGE_ARCHIVE:-build/image/vzgen.oci.tar}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_NAMES=(docker.io/library/debian:12 docker.io/library/debian:12-slim)
# Bumped whenever base_tarball's recipe changes, so that cached bases made the old way are redone.
BASE_RECIPE=2

mkdir -p "$IMAGE_STORE"
STORE=$(cd "$IMAGE_STORE" && pwd)
buildah() {
  command buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "$@"
}

have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# A base made here by an older recipe is made again; a pulled one carries no recipe label.
current_base() {
  have_image "$1" || return 1
  local recipe
  recipe=$(buildah inspect --type image \
    --format '{{index .OCIv1.Config.Labels "vzgen.base-recipe"}}' "$1")
  [ -z "$recipe" ] || [ "$recipe" = "<no value>" ] || [ "$recipe" = "$BASE_RECIPE" ]
}

# A Debian 12 minbase root file system as a tar archive in the machine's cache.
base_tarball() {
  local tarball="$IMAGE_CACHE/debian-12-minbase-$(dpkg --print-architecture)-r$BASE_RECIPE.tar"
  mkdir -p "$IMAGE_CACHE"
  exec 9>"$IMAGE_CACHE/.lock"
  flock 9  # another checkout may be making it right now
  if [ -s "$tarball" ] && [ "${IMAGE_BASE_REFRESH:-0}" != 1 ] &&
     [ -z "$(find "$tarball" -mtime "+$IMAGE_BASE_MAX_DAYS")" ]; then
    echo "$tarball"
    exec 9>&-
    return
  fi
  local root
  root=$(mktemp -d "$IMAGE_CACHE/rootfs.XXXXXX")
  echo "== debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (a minute or two)" >&2
  if ! debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$root.log" 2>&1; then
    tail -20 "$root.log" >&2
    echo "error: debootstrap failed (whole log: $root.log)" >&2
    exit 1
  fi
  rm -f "$root.log"
  # The archive's security and point-release updates, as Debian's own images list them, so that
  # the Dockerfile's `apt-get install` gets fixed packages.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Slim: packages installed later leave out documentation, manual pages and translations
  # (copyright files stay), and what minbase installed loses them too.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim-image" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
  # No package cache in an image layer: apt's binary caches are not written, downloaded
  # packages are removed after each run, and no translations are fetched (Debian's own images
  # are configured to the same effect).
  cat >"$root/etc/apt/apt.conf.d/slim-image" <<'EOF'
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Acquire::Languages "none";
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,info,groff,lintian,locale}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log \
    "$root"/var/log/apt/* "$root"/debootstrap "$root"/dev/*
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  exec 9>&-
  echo "$tarball"
}

base() {
  local missing=()
  for n in "${BASE_NAMES[@]}"; do current_base "$n" || missing+=("$n"); done
  [ ${#missing[@]} -eq 0 ] && return
  local pulled=1
  for n in "${missing[@]}"; do
    echo "== pulling $n"
    if ! timeout 60 "$(command -v buildah)" --root "$STORE/root" --runroot "$STORE/run" \
        --storage-driver vfs pull -q "$n" >/dev/null 2>"$STORE/pull.err"; then
      pulled=0
      echo "   not reachable ($(tail -c 200 "$STORE/pull.err" | tr '\n' ' ')): made locally"
      break
    fi
  done
  [ $pulled = 1 ] && return
  local tarball c
  tarball=$(base_tarball)
  c=$(buildah from scratch)
  buildah add -q "$c" "$tarball" / >/dev/null
  buildah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label org.opencontainers.image.description="Debian 12 minbase (debootstrap), slim" \
    --label vzgen.base-recipe=$BASE_RECIPE "$c"
  buildah commit -q --rm "$c" "${BASE_NAMES[1]}" >/dev/null
  buildah tag "${BASE_NAMES[1]}" "${BASE_NAMES[0]}"
  echo "== base images ${BASE_NAMES[*]} made from $tarball"
}

build() {
  base
  local start=$SECONDS
  echo "== buildah bud -f deploy/Dockerfile -t $IMAGE"
  buildah bud --isolation chroot --pull=never --layers -f deploy/Dockerfile -t "$IMAGE" .
  echo "== built in $((SECONDS - start)) s; size $(size)"
  rm -f "$IMAGE_ARCHIVE"
  buildah push -q "$IMAGE" "oci-archive:$IMAGE_ARCHIVE:$IMAGE" >/dev/null
  echo "== OCI archive $IMAGE_ARCHIVE ($(du -h "$IMAGE_ARCHIVE" | cut -f1), compressed layers)"
}

packages() {
  local c
  c=$(buildah from -q --pull=never "$IMAGE")
  buildah run --isolation chroot --user 0 "$c" -- dpkg-query -W -f '${Package} ${Version}\n'
  buildah rm "$c" >/dev/null
}

size() { buildah images --format '{{.Size}}' "$IMAGE"; }

case "${1:-build}" in
  build) build ;;
  base) base ;;
  packages) packages ;;
  size) size ;;
  *) echo "usage: $0 build|base|packages|size" >&2; exit 2 ;;
esac
