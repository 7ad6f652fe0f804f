#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang 14, ASan, in build-fuzz/) and runs each for
# SECONDS on a copy of its seed corpus (tests/fuzz/corpus/<harness>/, never written).
#
#   bash tests/fuzz/run.sh [SECONDS] [HARNESS...]     # default 60 s, all harnesses
#   bash tests/fuzz/run.sh build                      # only install and build (tests/run.sh)
#
# Harnesses: idx cifar config model_file checkpoint trace. Environment:
#   TESSERA_FUZZ_PARALLEL=N    run N harnesses at a time (default 1)
#   TESSERA_FUZZ_NICE=N        run them under nice -n N (default 0)
#   TESSERA_FUZZ_HDF5_FATAL=1  also fail on faults inside the HDF5 library
#                              of tests/fuzz/crashes/README.md (to fuzz on past them)
# Prints one line per harness (runs executed, coverage, result). Exits non-zero when
# a harness found something in tessera's code or its checks (crash, ASan error,
# leak, timeout, out of memory, an exception other than tessera::Error), keeping the
# reproducer under build-fuzz/fuzz-findings/<harness>/ and printing its path;
# rerun one with build-fuzz/fuzz_<harness> <reproducer>. Faults inside HDF5 1.10
# itself on corrupt files (tests/fuzz/triage.py tells them apart) are listed and
# kept under build-fuzz/fuzz-findings/<harness>/hdf5/, and the harness goes on.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
shift || true
build_only=0
[[ $seconds != build ]] || build_only=1 seconds=0
all=(idx cifar config model_file checkpoint trace packet)
harnesses=("$@")
((${#harnesses[@]})) || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz: unknown harness '$h' (known: ${all[*]})" >&2; exit 2; }
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
parallel=${TESSERA_FUZZ_PARALLEL:-1}
nice_level=${TESSERA_FUZZ_NICE:-0}

bash cmake/install-debian-deps.sh
bash cmake/install-debian-deps.sh clang-14 libfuzzer-14-dev  # the fuzz build's compiler and libFuzzer
source cmake/mpi-env.sh

# The fuzz build: its own folder, clang, only the harnesses (cmake/Fuzz.cmake).
build=build-fuzz
mkdir -p "$build"
log="$build/fuzz-build.log"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DTESSERA_FUZZ=ON > "$log" 2>&1 || { cat "$log"; exit 1; }
echo "fuzz: building the harnesses with $(nproc) jobs (log: $log)"
cmake --build "$build" -j "$(nproc)" >> "$log" 2>&1 || { tail -n 60 "$log"; exit 1; }
((build_only == 0)) || { echo "fuzz: harnesses built in $build/"; exit 0; }

# Input files of the readers that take a path: one per process, in memory.
tmp=$(mktemp -d "$( [[ -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/tessera-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A small quarantine keeps the allocator's memory warm (several times more
# executions per second here). libFuzzer checks every input for leaks; what is left
# at exit is Open MPI's (after MPI_Finalize), as are the suppressed start-up
# allocations (tests/fuzz/lsan.supp).
export ASAN_OPTIONS="quarantine_size_mb=16:detect_leaks=1:leak_check_at_exit=0:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export TESSERA_FUZZ_TMPDIR=$tmp OMP_NUM_THREADS=1

# Runs one harness for `seconds`; its summary goes to <work>/result, libFuzzer's
# output to <work>/fuzz-<segment>.log. A fault inside the HDF5 library itself
# (tests/fuzz/triage.py decides) is kept under <findings>/hdf5/ and fuzzing goes on
# with the time left, from the corpus grown so far; anything else stops the harness.
run_one() {
  local h=$1 work="$build/fuzz-runs/$1" findings="$build/fuzz-findings/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$findings"
  cp -R "tests/fuzz/corpus/$h/." "$work/corpus/"
  local seeds dict=()
  seeds=$(find "$work/corpus" -type f | wc -l)
  # An input that takes longer is a hang; building a VGG16 for a model file whose
  # arch says so takes seconds on a loaded machine.
  local timeout=20
  case $h in
    config) dict=(-dict=tests/fuzz/dict/config.dict) ;;
    model_file) dict=(-dict=tests/fuzz/dict/hdf5.dict) timeout=60 ;;
    checkpoint) dict=(-dict=tests/fuzz/dict/hdf5.dict) ;;
    trace) dict=(-dict=tests/fuzz/dict/hdf5.dict) ;;
  esac
  local start=$SECONDS deadline=$((SECONDS + seconds)) runs=0 segment=0 cov="?" ft="?" corp="?"
  local verdict="ok" hdf5_count=0 hdf5_lines=() reproducers=() log tracer_faults=0 leak_checks=()
  # First the reproducers of tessera's own past findings (tests/fuzz/crashes/, not the
  # HDF5 library's): fixed ones must stay fixed, whatever the fuzzing finds in time.
  local known
  for known in tests/fuzz/crashes/${h%_file}-*; do
    [[ -f $known ]] || continue
    if ! "$build/fuzz_$h" "$known" > "$work/regression.log" 2>&1; then
      verdict="FOUND (a past finding came back: $known; log $work/regression.log)"
      deadline=$SECONDS
    fi
  done
  while (( deadline - SECONDS >= 3 )); do
    segment=$((segment + 1))
    log="$work/fuzz-$segment.log"
    local status=0
    # One allocation of 1 GiB or more is a finding with its stack (the harness's RSS
    # is about 340 MiB, so a single one under 2 GiB could otherwise pass the RSS limit
    # only as an out-of-memory with no stack, which no one can place).
    nice -n "$nice_level" "$build/fuzz_$h" -max_total_time=$((deadline - SECONDS)) -timeout="$timeout" \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$findings/" \
      "${dict[@]}" "${leak_checks[@]}" "$work/corpus" > "$log" 2>&1 || status=$?

    local n
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [[ -n $n ]] || n=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    runs=$((runs + ${n:-0}))
    # libFuzzer's status lines: "#RUNS <event> cov: C ft: F corp: N/SIZE ..."
    if grep -qE 'cov: [0-9]+' "$log"; then
      cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
      ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
      corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
    fi
    local artifacts
    artifacts=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tr '\n' ' ')
    [[ $status -ne 0 || -n $artifacts ]] || break

    local owner kind where
    IFS=$'\t' read -r owner kind where < <(/usr/bin/python3 tests/fuzz/triage.py "$log")
    # LeakSanitizer's own tracer crashed during a leak check (a known flake of its
    # stop-the-world thread, not of the input; the reproducer it leaves is empty):
    # fuzzing goes on. After a second one the rest of the time runs without leak
    # checks, and the harness's line says so (crashes, ASan errors, timeouts and the
    # harness's own checks, open HDF5 identifiers included, still count).
    if [[ $owner == sanitizer ]]; then
      rm -f $artifacts
      tracer_faults=$((tracer_faults + 1))
      ((tracer_faults >= 2)) && leak_checks=(-detect_leaks=0)
      continue
    fi
    if [[ $owner == hdf5 && -n $artifacts ]]; then
      mkdir -p "$findings/hdf5"
      for a in $artifacts; do
        mv "$a" "$findings/hdf5/"
        cp "$log" "$findings/hdf5/$(basename "$a").log"
        a="$findings/hdf5/$(basename "$a")"
        # One line per kind of fault and function (offsets within it differ).
        local known=0 line signature
        signature="$kind in $(sed -E 's/\+0x[0-9a-f]+//g' <<< "$where")"
        for line in "${hdf5_lines[@]}"; do [[ $line == "$signature: "* ]] && known=1; done
        ((known)) || hdf5_lines+=("$signature: $a")
      done
      hdf5_count=$((hdf5_count + 1))
      if ((hdf5_count >= 20 + seconds / 15)); then
        hdf5_lines+=("stopped after $hdf5_count HDF5-library faults")
        break
      fi
      continue
    fi
    verdict="FOUND ($kind in $where)"
    for a in $artifacts; do
      cp "$log" "$a.log"
      reproducers+=("$a")
    done
    [[ -n $artifacts ]] || reproducers+=("(none written; log $log)")
    break
  done

  {
    echo "fuzz $h: $verdict, $runs runs in $((SECONDS - start)) s, cov $cov, ft $ft, corpus $seeds -> $corp," \
         "HDF5-library faults: $hdf5_count$( ((tracer_faults)) && echo ", LeakSanitizer's tracer crashed $tracer_faults time(s)$( ((${#leak_checks[@]})) && echo ": the rest ran without leak checks")")"
    local r line
    for r in "${reproducers[@]}"; do echo "fuzz $h:   reproducer $r (rerun: $build/fuzz_$h $r)"; done
    for line in "${hdf5_lines[@]}"; do echo "fuzz $h:   HDF5 library: $line"; done
  } > "$work/result"
}

echo "fuzz: ${#harnesses[@]} harness(es), ${seconds} s each, ${parallel} at a time"
running=0
for h in "${harnesses[@]}"; do
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$h" &
  running=$((running + 1))
done
wait

failed=0
for h in "${harnesses[@]}"; do
  result="$build/fuzz-runs/$h/result"
  if [[ -f $result ]]; then cat "$result"; else echo "fuzz $h: FOUND (no result: the runner failed)"; fi
  grep -q "^fuzz $h: ok," "$result" 2>/dev/null || failed=1
  if [[ ${TESSERA_FUZZ_HDF5_FATAL:-0} == 1 ]] && grep -q "HDF5 library:" "$result" 2>/dev/null; then failed=1; fi
done
exit $failed
