#!/bin/bash
# check-man-pages.sh DAEMON IOMMUCTL MANDIR: the man pages cannot drift from
# the programs.  Every option `DAEMON --help` prints must appear in
# MANDIR/cuse-iommu.8; every command `IOMMUCTL --help` lists must have its
# entry (a ".B COMMAND" line) in MANDIR/iommuctl.8, and every option its
# help (and the global help) prints must appear there too.  The pages may be
# gzipped (an installed MANDIR/man8).  Reads only --help output: no daemon,
# no /dev/cuse.  Ends with "man: N passed, M failed"; exits 1 if M > 0.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 DAEMON IOMMUCTL MANDIR" >&2
    exit 2
fi
daemon=$1 iommuctl=$2 mandir=$3
passed=0 failed=0

check() {  # check DESCRIPTION COMMAND...: one pass or fail
    local what=$1; shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAIL: $what"
        failed=$((failed + 1))
    fi
}

# page NAME: the page's roff as plain-ish text: "\-" as "-", font escapes gone.
page() {
    local file=$mandir/$1.8
    if [ -f "$file" ]; then cat "$file"; else zcat "$file.gz"; fi \
        | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\c$//'
}

# options: the -x and --long options in the text on stdin, one a line.
options() {
    grep -oE '(^|[ ,[(|])--?[a-z][a-z-]*' | sed -E 's/^[ ,[(|]//' | sort -u
}

# has_word TEXT WORD: WORD appears in TEXT, not as part of a longer option.
has_word() {
    grep -qE -- "(^|[^a-z-])$2([^a-z-]|\$)" <<<"$1"
}

daemon_page=$(page cuse-iommu)
daemon_help=$("$daemon" --help)
while read -r opt; do
    check "cuse-iommu(8) lacks $opt (from cuse-iommu --help)" has_word "$daemon_page" "$opt"
done < <(options <<<"$daemon_help")

ctl_page=$(page iommuctl)
ctl_help=$("$iommuctl" --help)
while read -r opt; do
    check "iommuctl(8) lacks global option $opt" has_word "$ctl_page" "$opt"
done < <(options <<<"$(sed -n '/^global options/,$p' <<<"$ctl_help")")

# The command table: "  NAME<two or more spaces>summary" after "commands:".
commands=$(sed -n '/^commands:/,/^$/p' <<<"$ctl_help" \
    | sed -nE 's/^  ([a-z-]+( [a-z-]+)?) {2,}.*/\1/p')
check "iommuctl --help lists no commands" test -n "$commands"
while read -r cmd; do
    [ -n "$cmd" ] || continue
    check "iommuctl(8) has no entry '.B $cmd'" grep -qE "^\.B $cmd( |\$)" <<<"$ctl_page"
    # shellcheck disable=SC2086  # "device add" is two words
    cmd_help=$("$iommuctl" $cmd --help | sed '/^global options/,$d')
    while read -r opt; do
        [ -n "$opt" ] || continue
        check "iommuctl(8) lacks $opt (from iommuctl $cmd --help)" has_word "$ctl_page" "$opt"
    done < <(options <<<"$cmd_help")
done <<<"$commands"

echo "man: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
