#!/bin/bash
# Every command answers --help and --version: exit 0, the command's usage
# line and its options (help), the project's version (version), all on
# stdout.  An unknown option is bad usage: exit 2, one line on stderr naming
# it, nothing on stdout.  A failing inspect prints nothing on stdout.
#
# layerfs(1) and the code agree, checked from both ends rather than from a
# list kept here: the options each command's --help lists (GLib makes it
# from the table it parses with) are those the man page's OPTIONS and
# SOURCES items name, with the same short forms, and those its SYNOPSIS
# gives that command; the -o options --help lists (made from the table
# options.c parses with) are those the man page's -o items name, and
# those `layerfs index` takes are those the man page says it takes; every
# other -o option `layerfs index` refuses as bad usage.  Bad usage exits 2
# in every command, a bad -o value and an option FUSE refuses included.
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
check_help diff "Usage:" \
	"layerfs diff [OPTION…] MOUNTPOINT | --upper DIR --from SOURCE" \
	"--upper=DIR" "--from=SOURCE" "--layer=PATH" "--userxattr" "--json" \
	"--cache-dir=DIR" "--options=OPT" "--version" "--help"
check_help commit "Usage:" \
	"layerfs commit [OPTION…] MOUNTPOINT oci:DIR:TAG | --upper DIR --from SOURCE oci:DIR:TAG" \
	"--upper=DIR" "--from=SOURCE" "--userxattr" "--compression" \
	"--level=N" "--source-date-epoch=SECONDS" "--clamp-mtime" \
	"--message=TEXT" "--cache-dir=DIR" "--options=OPT" "--version" "--help"
check_help bundle "Usage:" \
	"layerfs bundle [OPTION…] SOURCE DIR [-- COMMAND...]" \
	"--layer=PATH" "--cache-dir=DIR" "--platform=OS/ARCH" "--options=OPT" \
	"--tty" "--version" "--help"

for cmd in "" mount inspect index stats diff commit bundle; do
	check_version "$cmd"
	check_unknown "$cmd"
done

# A misspelt command (a word that names no file): one line listing the
# commands, bad usage, nothing mounted or read.
run inspct oci:whatever
[ "$rc" -eq 2 ] || fail "layerfs inspct: exit $rc, want 2"
[ "$(cat "$T/err")" = 'layerfs: unknown command "inspct" (commands: mount, inspect, index, stats, diff, commit, bundle; see layerfs --help)' ] ||
	fail "layerfs inspct: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "layerfs inspct: wrote to stdout"

# No arguments at all: the usage, on stderr, as bad usage.
run ""
[ "$rc" -eq 2 ] || fail "bare layerfs: exit $rc, want 2"
grep -q "^Usage:" "$T/err" || fail "bare layerfs: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "bare layerfs wrote to stdout"

# A source that is not there: a one-line reason, and no report.
run inspect "oci:$T/nowhere:t"
[ "$rc" -eq 3 ] || fail "inspect of a missing source: exit $rc, want 3"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "inspect: want one line"
grep -qF "$T/nowhere" "$T/err" || fail "inspect: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "failed inspect wrote: $(cat "$T/out")"

# ---- layerfs(1) against the code ----
man=$LFS_SRCDIR/docs/layerfs.1
# section NAME: the lines of the man page's section NAME.
section() {
	awk -v s=".SH $1" '$0 == s { on = 1; next } /^\.SH / { on = 0 } on' "$man"
}
# Roff to plain text: macros, font changes, quotes out; \- and \e in.
plain() {
	sed -e 's/^\.[A-Z][A-Z]* *//' -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' \
		-e 's/\\e/\\/g' -e 's/"//g'
}
# The tag of each .TP item on stdin (continued lines joined), as text.
tags() {
	awk 'tp && /\\$/ { sub(/\\$/, ""); buf = buf $0 " "; next }
		tp { print buf $0; buf = ""; tp = 0 }
		/^\.TP/ { tp = 1 }' | plain
}
# Options as "LONG" or "SHORT LONG" lines, from a man tag ("-f, --foreground",
# "--cache-dir dir") or a --help line ("  -f, --foreground   Stay...").
pairs() {
	sed -nE 's/^ *(-[a-zA-Z]) *, *(--[a-z][a-z-]*).*/\1 \2/p
		s/^ *(--[a-z][a-z-]*).*/\1/p'
}
help_pairs() {
	"$LAYERFS" ${1:+"$1"} --help | grep -E '^  +-' | pairs | sort -u
}
# The option items of OPTIONS and SOURCES (their tags start with "-").
{ section OPTIONS; section SOURCES; } | tags | grep '^-' | pairs | sort -u \
	>"$T/man.opts"
for cmd in mount inspect index stats diff commit bundle; do
	help_pairs "$cmd" >"$T/help.$cmd"
done
sort -u "$T"/help.* >"$T/help.all"
diff -u --label "layerfs(1) OPTIONS" --label "every command's --help" \
	"$T/man.opts" "$T/help.all" >&2 ||
	fail "the man page's options and the code's differ (above)"
# Each command's SYNOPSIS lines name exactly its options (short forms
# mapped to long ones through its --help; --help and --version go
# without saying).
for cmd in mount inspect index stats diff commit bundle; do
	section SYNOPSIS | awk -v c="layerfs $cmd" \
		'$0 == ".B " c { on = 1 } /^\.br/ { on = 0 } on' | plain |
		{ grep -oE -- '(^|[ [])--?[a-zA-Z][a-z-]*' || true; } |
		tr -d ' [' | sort -u >"$T/syn.$cmd"
	while read -r opt; do
		case $opt in
		--*) echo "$opt" ;;
		*) awk -v s="$opt" '$1 == s { print $2 }' "$T/help.$cmd" |
			grep . || echo "$opt (not in --help)" ;;
		esac
	done <"$T/syn.$cmd" | sort -u >"$T/syn-long.$cmd"
	awk '$NF != "--help" && $NF != "--version" { print $NF }' \
		"$T/help.$cmd" | sort -u >"$T/help-long.$cmd"
	diff -u --label "SYNOPSIS of $cmd" --label "layerfs $cmd --help" \
		"$T/syn-long.$cmd" "$T/help-long.$cmd" >&2 ||
		fail "layerfs(1) SYNOPSIS of $cmd and its --help differ (above)"
done
# The bare command's words in the SYNOPSIS all work.
for w in $(section SYNOPSIS | awk '/^\.B layerfs$/ { getline; print }' |
	plain | grep -oE -- '(-[-a-zA-Z]+|help)'); do
	run "" "$w"
	[ "$rc" -eq 0 ] || fail "layerfs $w (in the SYNOPSIS): exit $rc"
	[ -s "$T/out" ] || fail "layerfs $w (in the SYNOPSIS): no output"
done

# -o: NAME= (the value left out) or a word, one a line.
o_names() { sed -E 's/=.*/=/' | sort -u; }
# The -o items: the tags inside the .RS block after the -o item.
section OPTIONS | awk 'on && /^\.RE/ { exit } on { print; next }
	/^\.TP/ { tp = 1; next }
	tp && /\\-o/ { in_o = 1 } { tp = 0 }
	in_o && /^\.RS/ { on = 1 }' |
	tags | tr ',' '\n' | awk 'NF { print $1 }' | o_names >"$T/man.o"
# o_help CMD: the -o names CMD's --help lists (the description after
# "Options for -o": item lines start with two blanks, ignored words with
# four).
o_help() {
	"$LAYERFS" "$1" --help | sed -n '/^Options for -o/,$p' | sed 1d |
		awk '/^    / { gsub(/,/, " "); for (i = 1; i <= NF; i++) print $i; next }
			/^  / { sub(/   .*/, ""); n = split($0, a, ", ");
				for (i = 1; i <= n; i++) { gsub(/ /, "", a[i]); print a[i] } }' |
		o_names
}
o_help mount >"$T/help.o"
[ "$(wc -l <"$T/help.o")" -gt 10 ] || fail "mount --help lists: $(cat "$T/help.o")"
diff -u --label "layerfs(1) -o items" --label "layerfs mount --help" \
	"$T/man.o" "$T/help.o" >&2 ||
	fail "the man page's -o options and the code's differ (above)"
# What layerfs(1) says `layerfs index` takes, against its --help (which
# lists cache-dir= beside cache_dir=).
section OPTIONS | tr '\n' ' ' | plain |
	grep -oE 'layerfs index, layerfs diff and layerfs commit take only [^.]*' |
	grep -oE '[a-z_]+=' | sort -u >"$T/man.index.o"
[ -s "$T/man.index.o" ] || fail "layerfs(1) does not say what index takes"
for cmd in index diff commit; do
	o_help $cmd | grep -vx 'cache-dir=' >"$T/help.$cmd.o"
	diff -u --label "layerfs(1): $cmd takes" --label "layerfs $cmd --help" \
		"$T/man.index.o" "$T/help.$cmd.o" >&2 ||
		fail "what $cmd takes differs between layerfs(1) and --help (above)"
done

# ---- bad usage is exit 2 in every command, with one line ----
mkdir "$T/empty" "$T/mnt"
tar -C "$T/empty" -cf "$T/l.tar" .
# usage CMD WANT ARGS...: layerfs CMD ARGS... is bad usage: exit 2, one
# line on stderr holding WANT, nothing on stdout, nothing mounted.
usage() {
	local cmd=$1 want=$2

	shift 2
	run "$cmd" "$@"
	[ "$rc" -eq 2 ] || fail "layerfs $cmd $*: exit $rc, want 2: $(cat "$T/err")"
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
		fail "layerfs $cmd $*: want one line: $(cat "$T/err")"
	grep -qF -- "$want" "$T/err" ||
		fail "layerfs $cmd $*: want \"$want\": $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "layerfs $cmd $*: wrote to stdout"
	! mountpoint -q "$T/mnt" || fail "layerfs $cmd $*: mounted"
}
L=(--cache-dir "$T/cache" --layer "$T/l.tar")
for bad in span=abc span=1K threads=0 platform= allow_other=1; do
	usage mount "${bad%%=*}" "${L[@]}" -o "$bad" "$T/mnt"
	usage "" "${bad%%=*}" "$T/l.tar" "$T/mnt" -o "$bad" # helper form
done
for bad in span=abc span=1K threads=0 platform=; do
	usage index "${bad%%=*}" "${L[@]}" -o "$bad"
done
# An option FUSE does not know, found once the image is indexed.
usage mount no_such_fuse_option "${L[@]}" -o no_such_fuse_option "$T/mnt"
usage mount "expected MOUNTPOINT" "${L[@]}"
usage mount "expected SOURCE and MOUNTPOINT" "$T/l.tar"
usage index "expected one SOURCE" --cache-dir "$T/cache"
usage inspect "expected one SOURCE"
usage inspect "-o" -o ro --layer "$T/l.tar"
usage stats "expected MOUNTPOINT"
# Every -o option of a mount that is not one index takes (from the two
# --help lists), and FUSE's: index refuses it, naming it.
comm -23 "$T/help.o" <(o_help index) >"$T/mount-only.o"
echo noexec >>"$T/mount-only.o"
echo suid >>"$T/mount-only.o"
while read -r o; do
	case $o in
	*'*') o=${o%\*}x ;;	# x-*, comment=*
	*=) o=${o}1M ;;
	esac
	usage index "option $o only applies to a mount" "${L[@]}" -o "$o"
done <"$T/mount-only.o"
# What index takes, it takes (with good values).
run index "${L[@]}" -o "cache_dir=$T/cache2,platform=linux/amd64,threads=2,span=1M"
[ "$rc" -eq 0 ] || fail "index with its own -o options: $(cat "$T/err")"
[ -d "$T/cache2/index" ] || fail "index: cache_dir= not used"
