#!/bin/bash
# Every command answers --help and --version: exit 0, the command's usage
# line and its options (help), the project's version (version), all on
# stdout.  An unknown option is bad usage: exit 2, one line on stderr naming
# it, nothing on stdout.  A failing inspect prints nothing on stdout.
. "$(dirname "$0")/lib.sh"

version=$(sed -n "s/^ *version: '\([^']*\)',\$/\1/p" "$LFS_SRCDIR/meson.build")
[ -n "$version" ] || fail "no project version in meson.build"

# run CMD ARGS...: layerfs [CMD] ARGS... (an empty CMD is the bare
# `layerfs`), stdout to $T/out, stderr to $T/err, exit status in $rc.
run() {
	local cmd=$1

	shift
	rc=0
	"$LAYERFS" ${cmd:+"$cmd"} "$@" >"$T/out" 2>"$T/err" || rc=$?
}

# check_help CMD WANT...: --help and -h exit 0 with nothing on stderr, and
# the help holds each WANT.
check_help() {
	local cmd=$1 flag w

	shift
	for flag in --help -h; do
		run "$cmd" "$flag"
		[ "$rc" -eq 0 ] || fail "layerfs $cmd $flag: exit $rc"
		[ ! -s "$T/err" ] || fail "layerfs $cmd $flag: $(cat "$T/err")"
		for w in "$@"; do
			grep -qF -- "$w" "$T/out" ||
				fail "layerfs $cmd $flag: no \"$w\" in: $(cat "$T/out")"
		done
	done
}

# check_version CMD: --version and -V print "layerfs VERSION" and exit 0.
check_version() {
	local flag

	for flag in --version -V; do
		run "$1" "$flag"
		[ "$rc" -eq 0 ] || fail "layerfs $1 $flag: exit $rc"
		[ "$(cat "$T/out")" = "layerfs $version" ] ||
			fail "layerfs $1 $flag: $(cat "$T/out")"
		[ ! -s "$T/err" ] || fail "layerfs $1 $flag: $(cat "$T/err")"
	done
}

# check_unknown CMD: an unknown option, long or short, is refused.
check_unknown() {
	local opt

	for opt in --no-such-option -Z; do
		run "$1" "$opt"
		[ "$rc" -eq 2 ] || fail "layerfs $1 $opt: exit $rc, want 2"
		[ "$(wc -l <"$T/err")" -eq 1 ] ||
			fail "layerfs $1 $opt: want one line: $(cat "$T/err")"
		grep -qF -- "$opt" "$T/err" ||
			fail "layerfs $1 $opt: option not named: $(cat "$T/err")"
		[ ! -s "$T/out" ] || fail "layerfs $1 $opt: wrote to stdout"
	done
}

# GLib's usage line is "layerfs CMD [OPTION…] ARGS": the ellipsis must come
# out as such, not as "?" from a charset conversion.
check_help "" "Usage:" "layerfs mount [OPTIONS] SOURCE MOUNTPOINT" \
	"--layer PATH" "layerfs inspect" "layerfs index" \
	"layerfs stats [OPTIONS] MOUNTPOINT" "layerfs SOURCE MOUNTPOINT" \
	"--help" "--version"
check_help mount "Usage:" "layerfs mount [OPTION…] SOURCE MOUNTPOINT" \
	"--foreground" "--debug" "--options=OPT" "--layer=PATH" \
	"--cache-dir=DIR" "--platform=OS/ARCH" "--version" "--help"
check_help inspect "Usage:" "layerfs inspect [OPTION…] [SOURCE]" \
	"--layer=PATH" "--platform=OS/ARCH" "--version" "--help"
check_help index "Usage:" "layerfs index [OPTION…] [SOURCE]" \
	"--layer=PATH" "--cache-dir=DIR" "--platform=OS/ARCH" "--options=OPT" \
	"--unpack" "--version" "--help"
check_help stats "Usage:" "layerfs stats [OPTION…] MOUNTPOINT" \
	"--version" "--help"

for cmd in "" mount inspect index stats; do
	check_version "$cmd"
	check_unknown "$cmd"
done

# No arguments at all: the usage, on stderr, as bad usage.
run ""
[ "$rc" -eq 2 ] || fail "bare layerfs: exit $rc, want 2"
grep -q "^Usage:" "$T/err" || fail "bare layerfs: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "bare layerfs wrote to stdout"

# A source that is not there: a one-line reason, and no report.
run inspect "oci:$T/nowhere:t"
[ "$rc" -eq 1 ] || fail "inspect of a missing source: exit $rc"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "inspect: want one line"
grep -qF "$T/nowhere" "$T/err" || fail "inspect: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "failed inspect wrote: $(cat "$T/out")"
