#!/usr/bin/env bash
# run-suite.sh BUILD_DIR [-- SELFTEST OPTIONS]
# The iommufd selftest tier: builds the kernel's tools/testing/selftests/
# iommu/iommufd.c unmodified (build-suite.sh), checks the project's iommufd
# header against the kernel's (layout_check.py), then runs the suite in the
# QEMU VM against `cuse-iommu --abi iommufd` (scripts/vm/run-program.sh:
# 1 GiB and a hugetlb pool of 80 x 2 MiB, which the 64M/128M dirty-tracking
# variants need), under the fd helper (LD_PRELOAD=libcuse-iommu-fd.so: the
# fault queue and access fds), and scores it.
#
# Prints per fixture and in total "N passed, M failed, K skipped", and fails
# when a case listed in expected-pass.txt did not pass (or the layouts
# differ).  Cases that pass but are not listed are named, to be added.
# SELFTEST OPTIONS (the harness's -f FIXTURE, -t TEST, -v VARIANT, -r NAME)
# run a subset; the expected list is then checked only for what ran.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run-suite.sh BUILD_DIR [-- SELFTEST OPTIONS]}" && pwd)
shift
[ "${1:-}" = -- ] && shift
suite=$build/iommufd-selftests
log=$suite/suite.log
kernel_tree=${CUSE_IOMMU_CACHE:-$HOME/.cache/cuse-iommu}/linux-source/linux-source-6.12

"$here/build-suite.sh" "$suite"
layout_status=0
python3 "$here/layout_check.py" "$repo/uapi/cuse-iommu-iommufd.h" "$suite/include" \
	"$kernel_tree/drivers/iommu/iommufd/iommufd_test.h" "$suite" || layout_status=1

# The suite's own exit status says only that something failed; the
# expected list decides.  Its output is TAP: "ok N name", "not ok N name",
# "ok N name # SKIP why".
set +e
"$repo/scripts/vm/run-program.sh" "$build" --abi iommufd --memory 1024 --append hugepages=80 \
	--timeout 1500 -- /usr/bin/env LD_PRELOAD="$build/fd-helper/libcuse-iommu-fd.so" \
	"$suite/iommufd" "$@" >"$log" 2>"$suite/vm.log"
vm_status=$?
set -e
if ! grep -q '^1\.\.[0-9]' "$log"; then
	echo "selftests: the suite did not run (run-program.sh exit $vm_status); see $suite/vm.log"
	tail -n 20 "$suite/vm.log" | sed 's/^/  /'
	echo "selftests: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

python3 - "$log" "$here/expected-pass.txt" "$layout_status" "$vm_status" <<'PYEOF'
import collections, re, sys
log, expected_file, layout_status, vm_status = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
results = {}
for line in open(log, errors="replace"):
    m = re.match(r"^(not ok|ok) \d+ (\S+)(.*)$", line.rstrip("\n"))
    if m:
        verdict = "skip" if "# SKIP" in m.group(3) else ("pass" if m.group(1) == "ok" else "fail")
        results[m.group(2)] = verdict
expected = [l.strip() for l in open(expected_file) if l.strip() and not l.startswith("#")]
by_fixture = collections.OrderedDict()
for name, verdict in results.items():
    by_fixture.setdefault(name.split(".")[0], collections.Counter())[verdict] += 1
total = collections.Counter()
for fixture, count in by_fixture.items():
    total.update(count)
    print("selftests: %-26s %d passed, %d failed, %d skipped" % (fixture, count["pass"], count["fail"], count["skip"]))
regressions = [n for n in expected if n in results and results[n] != "pass"]
missing = [n for n in expected if n not in results]
new = sorted(n for n, v in results.items() if v == "pass" and n not in expected)
for n in regressions:
    print("selftests: EXPECTED TO PASS, did not: %s (%s)" % (n, results[n]))
if new:
    print("selftests: passing but not in expected-pass.txt (add them): " + " ".join(new))
ran_all = len(results) >= 190
if ran_all and missing:
    for n in missing:
        print("selftests: expected case never ran: %s" % n)
if layout_status:
    print("selftests: the project's iommufd header differs from the kernel's (above)")
print("selftests: suite %d passed, %d failed, %d skipped (of %d run; %d expected to pass)"
      % (total["pass"], total["fail"], total["skip"], len(results), len(expected)))
failed = len(regressions) + (len(missing) if ran_all else 0) + layout_status
# The tier's own verdict: the expected cases and the layout check.
print("selftests: %d passed, %d failed" % (len([n for n in expected if results.get(n) == "pass"]) + (1 - layout_status), failed))
sys.exit(1 if failed else 0)
PYEOF
