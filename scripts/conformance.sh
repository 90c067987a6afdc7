#!/usr/bin/env bash
# make conformance: run the Ginkgo suite (which writes results.json,
# junit.xml and index.html), then print the summary.
#
#   scripts/conformance.sh OUT WSHARNESS GINKGO-COMMAND...
#
# Interruption (Ctrl-C, or SIGINT/SIGTERM sent to make or to this script):
#
#  - the first signal is passed on to the suites, once: Ginkgo stops the
#    running cases and writes OUT/results.json marked incomplete; the
#    summary and the report then say INCOMPLETE, and the exit status is 130;
#  - a second signal kills the suites at once and exits 130, without a
#    report.
#
# The suites run in a process group of their own, so that a terminal's
# Ctrl-C reaches only this script, which passes it on exactly once (Ginkgo
# takes a second interrupt to mean "skip the clean-up"), and so that a
# signal sent to make or to this script alone (a CI job being cancelled)
# stops them too; /bin/sh, which make uses, would die at once and leave
# them running without a summary or report.
#
# Without a signal the exit status is the summary's (1 on unexpected failures) if it failed, else Ginkgo's.
set -u
out=$1 wsh=$2
shift 2
mkdir -p "$out"
rm -f "$out/results.json" "$out/junit.xml" "$out/index.html"

signals=0
suites=
on_signal() {
	signals=$((signals + 1))
	if [ "$signals" -gt 1 ]; then
		echo "conformance: interrupted again: stopped at once, without a report" >&2
		if [ -n "$suites" ]; then
			kill -KILL -- "-$suites" 2>/dev/null
			wait "$suites" 2>/dev/null
		fi
		exit 130
	fi
	if [ -n "$suites" ]; then
		echo "conformance: interrupted: stopping the cases and writing the results of those that finished (interrupt again to quit at once)" >&2
		kill -INT -- "-$suites" 2>/dev/null
	else
		echo "conformance: interrupted: finishing the summary and report (interrupt again to quit at once)" >&2
	fi
}
trap on_signal INT TERM

set -m
"$@" </dev/null &
suites=$!
set +m
# A signal that came before $suites was known is passed on now.
[ "$signals" -eq 0 ] || kill -INT -- "-$suites" 2>/dev/null
rc=0
while :; do
	wait "$suites"
	rc=$?
	kill -0 "$suites" 2>/dev/null || break
done
suites=

if [ -f "$out/results.json" ]; then
	"$wsh" summary "$out/results.json" || rc=$?
	echo "results: $out/results.json  junit: $out/junit.xml  report: $out/index.html"
else
	echo "no results were written to $out" >&2
	[ "$rc" -ne 0 ] || rc=1
fi
[ "$signals" -eq 0 ] || rc=130
exit "$rc"
