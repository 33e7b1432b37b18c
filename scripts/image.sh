#!/bin/sh
# The one recipe for vigil's images, used by `make image`, the Docker tests
# and the bench. Nothing can be pulled here, so everything starts FROM
# scratch:
#
#   base       Debian's static busybox and its applet links
#              (examples/base/Dockerfile)
#   example    examples/Dockerfile on base: vigil as PID 1, three services
#   shellfree  examples/shellfree/Dockerfile: vigil and busybox, no shell
#   runit      the example's services under Debian's runsvdir as PID 1, on
#              base: runit's dynamically linked programs and the libraries
#              ldd names (the bench compares it with example)
#
#   sh scripts/image.sh [base|example|shellfree|runit]...
#
# With no names it builds base, example and shellfree and lists them.
# The environment says what goes in:
#
#   VIGIL    the vigil binary (default bin/vigil, built if missing)
#   BUSYBOX  Debian's static busybox (default: where scripts/peers.sh
#            unpacks it, which is run if it is missing)
#   RUNIT    the directory of Debian's runsvdir, runsv, sv, svlogd, chpst
#            (default: where scripts/peers.sh unpacks them)
#   PREFIX   the images are PREFIX-base, PREFIX-example... (default vigil)
#   QUIET    when set, nothing is printed but errors
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
docker=${DOCKER:-docker}
prefix=${PREFIX:-vigil}
peers=${VIGIL_PEERS:-$top/.cache/peers}
images=${*:-base example shellfree}

say() { [ -n "${QUIET:-}" ] || echo "$@"; }
build() { $docker build -q "$@" >/dev/null; }

vigil=${VIGIL:-}
if [ -z "$vigil" ]; then
	vigil=bin/vigil
	if [ ! -x "$vigil" ]; then
		CGO_ENABLED=0 ${GO:-go} build -trimpath -ldflags '-s -w' -o "$vigil" ./cmd/vigil
	fi
fi
busybox=${BUSYBOX:-$peers/bin/busybox}
if [ -z "${BUSYBOX:-}" ] && [ ! -x "$busybox" ]; then
	sh scripts/peers.sh
fi
[ -x "$busybox" ] || { echo "image.sh: $busybox: no static busybox; run scripts/peers.sh" >&2; exit 1; }

# One context, laid out as the top of the repository is for the examples'
# Dockerfiles (bin/vigil, .cache/peers/bin/busybox, examples/), holding the
# vigil and busybox asked for; busybox also at its top for the base.
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/bin" "$ctx/.cache/peers/bin"
cp "$vigil" "$ctx/bin/vigil"
cp "$busybox" "$ctx/busybox"
cp "$busybox" "$ctx/.cache/peers/bin/busybox"
cp -a examples "$ctx/examples"
# State that a run of vigil left in the tree must not enter an image.
find "$ctx/examples" -name supervise -prune -exec rm -rf {} +

runit_image() {
	runit=${RUNIT:-$peers/usr/bin}
	mkdir -p "$ctx/runit"
	libs=
	for p in runsvdir runsv sv svlogd chpst; do
		[ -x "$runit/$p" ] || { echo "image.sh: $runit/$p: Debian's runit is not unpacked; run scripts/peers.sh" >&2; exit 1; }
		cp "$runit/$p" "$ctx/runit/$p"
		libs="$libs $(ldd "$runit/$p" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')"
	done
	copies=
	for lib in $(printf '%s\n' $libs | sort -u); do
		# Installed under the name the programs ask for.
		mkdir -p "$ctx/libs$(dirname "$lib")"
		cp -L "$lib" "$ctx/libs$lib"
		copies="${copies}COPY libs$lib $lib
"
	done
	cat >"$ctx/Dockerfile.runit" <<EOF
FROM $prefix-base
COPY runit/ /opt/runit/bin/
${copies}COPY examples/service /etc/service
RUN mkdir -p /run/vigil /var/log/ledger && chmod 1777 /run/vigil /var/log/ledger
VOLUME ["/var/log/ledger"]
ENV PATH=/opt/runit/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SVDIR=/etc/service LOGDIR=/var/log WEB_PORT=8080
ENTRYPOINT ["/opt/runit/bin/runsvdir", "-P", "/etc/service"]
EOF
	build -t "$prefix-runit" -f "$ctx/Dockerfile.runit" "$ctx"
}

for img in $images; do
	case $img in
	base) build -t "$prefix-base" -f examples/base/Dockerfile "$ctx" ;;
	example) build -t "$prefix-example" --build-arg BASE="$prefix-base" -f examples/Dockerfile "$ctx" ;;
	shellfree) build -t "$prefix-shellfree" -f examples/shellfree/Dockerfile "$ctx" ;;
	runit) runit_image ;;
	*) echo "image.sh: unknown image $img (base, example, shellfree, runit)" >&2; exit 2 ;;
	esac
done
for img in $images; do
	say "$($docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$prefix-$img")"
done
