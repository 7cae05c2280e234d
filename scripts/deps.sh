# Sourced by scripts/run and scripts/test: install the Debian packages the
# project needs, but only when one is missing (apt-get update first).

# The SP transport is NNG (libnng-dev); nanomsg-utils (nanocat), nng-utils
# (nngcat) and libnanomsg-raw-perl are clients the project did not write,
# for the interoperability tests.
AIOJOBS_PACKAGES="gcc meson ninja-build pkg-config python3 libevent-dev
libnng-dev nng-utils nanomsg-utils libnanomsg-raw-perl
libcjson-dev check libsubunit-dev libinih-dev
libbsd-dev libssl-dev openssl libsqlite3-dev libsystemd-dev scdoc
libsodium-dev libmimalloc-dev clang libclang-rt-14-dev"

deps_install() {
	missing=""
	for p in $AIOJOBS_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q || return 1
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $missing
}

# Configure (once) and build into the given directory, warnings as errors.
deps_build() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" --werror "$@" || return 1
	fi
	ninja -C "$dir"
}
