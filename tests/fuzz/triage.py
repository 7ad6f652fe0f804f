#!/usr/bin/python3
"""Classifies what a libFuzzer run of tests/fuzz found, from its log.

    triage.py LOG   ->  prints "<owner>\t<kind>\t<where>"

owner is "hdf5" when the fault lies inside the HDF5 library itself: the first
frame of the fault's stack that is neither the sanitizer/libFuzzer runtime nor
libc/libstdc++ is in libhdf5, and so is the first such frame of the stacks that
allocated or freed the memory involved is not tessera's (a buffer too small for what
tessera asked HDF5 to write would be tessera's; Open MPI's blocks are not), unless the access lies beyond that memory's
bounds by more than zero bytes (a wild read landing in someone else's block, whose
allocator says nothing about the fault). Anything else (tessera's code, a harness check,
an exception other than tessera::Error, a leak, an out-of-memory without a stack)
is "tessera". owner is "sanitizer" when LeakSanitizer itself failed while checking
an input for leaks ("Tracer caught signal ..."): its stop-the-world tracer thread
crashed, which says nothing about the input, and libFuzzer writes an empty
reproducer. <kind> is e.g. heap-buffer-overflow, SEGV, timeout, out-of-memory, leak,
lsan-tracer-fault; <where> the first frame that decided it.
"""
import re
import subprocess
import sys

FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ (?P<rest>.*)$")


def parse_frame(line):
    """(function, location) of one stack line, or None when it is not a frame."""
    m = FRAME.match(line)
    if not m:
        return None
    rest = re.sub(r" \(BuildId: [0-9a-f]+\)\s*$", "", m.group("rest")).strip()
    func, loc = rest, ""
    paren = re.search(r"\((/[^()]*|<unknown module>)\)$", rest)
    if paren:  # "func (module+0x...)" or "(module+0x...)"
        func, loc = rest[: paren.start()].strip(), paren.group(1)
    else:  # "func /path/file.cpp:12:3"
        parts = rest.rsplit(" ", 1)
        if len(parts) == 2 and parts[1].startswith("/"):
            func, loc = parts
    if func.startswith("in "):
        func = func[3:]
    return func.strip(), loc


SKIP_FUNC = re.compile(
    r"^(__sanitizer|__asan|__lsan|__interceptor_|__interception|___interceptor|fuzzer::|__libc_|_start$|"
    r"malloc$|calloc$|realloc$|free$|posix_memalign|aligned_alloc|operator new|operator delete|"
    r"mem(cpy|move|set|cmp|chr)$|str\w+$|__mem|__str|abort$|raise$|gsignal$|__GI_|"
    r"__vasprintf|__asprintf|_IO_|__cxa_|_Unwind)")
SKIP_LOC = re.compile(r"(libc\.so|libstdc\+\+|libgcc_s|ld-linux|include/c\+\+/|<unknown module>|"
                      r"compiler-rt|/libfuzzer/|sanitizer_common|/build-fuzz/fuzz_\w+\+0x)")
STACK_HEADS = re.compile(r"(allocated by thread|freed by thread|previously allocated by)")


def frames(lines, start):
    """The stack starting at or after lines[start]: a list of (func, loc)."""
    out, i = [], start
    while i < len(lines) and parse_frame(lines[i]) is None:
        i += 1
    while i < len(lines):
        frame = parse_frame(lines[i])
        if frame is None:
            break
        out.append(frame)
        i += 1
    return out


def first_interesting(stack):
    for func, loc in stack:
        if SKIP_FUNC.match(func) or SKIP_LOC.search(loc):
            continue
        return func, loc
    return None


def owner_of(frame):
    if frame is None:
        return None
    if "libhdf5" in frame[1]:
        return "hdf5"
    # Open MPI's own blocks (a communicator's, say) are neither HDF5's nor tessera's: a
    # wild HDF5 read that lands in one is still HDF5's fault.
    if re.search(r"/openmpi/|libmpi|libopen-(pal|rte)", frame[1]):
        return "mpi"
    return "tessera"


def nearest_symbol(loc):
    """For an unnamed frame "lib.so+0xOFF": the exported function just below it
    (the library's static functions have no symbols without its debug package)."""
    m = re.match(r"^(/\S+\.so[.\d]*)\+0x([0-9a-f]+)$", loc)
    if not m:
        return ""
    try:
        out = subprocess.run(["nm", "-D", "--defined-only", m.group(1)], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    offset, best = int(m.group(2), 16), None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "Tt":
            address = int(parts[0], 16)
            if address <= offset and (best is None or address > best[0]):
                best = (address, parts[2].split("@")[0])
    return f" (a static function after {best[1]})" if best else ""


def describe(frame):
    if frame is None:
        return "(no stack)"
    func, loc = frame
    func = func.replace("std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
                        "std::string")
    return f"{func} {loc}".strip() if func else loc + nearest_symbol(loc)


def classify(text):
    lines = text.splitlines()
    if "LeakSanitizer has encountered a fatal error" in text and not re.search(
            r"ERROR: (AddressSanitizer|LeakSanitizer: detected|libFuzzer)|tessera-fuzz: FINDING:|^terminate called",
            text, re.M):
        tracer = next((line.strip() for line in lines if line.startswith("Tracer caught signal")), "(no tracer line)")
        return "sanitizer", "lsan-tracer-fault", tracer
    start, kind = None, None
    for i, line in enumerate(lines):
        if "tessera-fuzz: FINDING:" in line:
            return "tessera", "harness-check", line.split("FINDING:", 1)[1].strip()
        if line.startswith("terminate called"):
            return "tessera", "uncaught-exception", line
        if "ERROR: LeakSanitizer" in line:
            kind, start = "leak", i
            break
        m = re.search(r"ERROR: (?:AddressSanitizer|libFuzzer): ([\w-]+)", line)
        if m:
            kind, start = m.group(1), i
            if kind == "timeout":  # the stack was printed before, after "ALARM"
                for j in range(i, -1, -1):
                    if lines[j].startswith("ALARM: working on the last Unit"):
                        start = j
                        break
            break
    if start is None:
        return "tessera", "unknown", "(no sanitizer report in the log)"
    summary = re.search(r"^SUMMARY: (?:AddressSanitizer|libFuzzer): ([\w-]+)", text, re.M)
    if summary and kind != "leak":  # "allocation-size-too-big" rather than "requested"
        kind = summary.group(1)
    if kind == "leak":
        owners = set()
        where = None
        for i in range(start, len(lines)):
            if re.match(r"^(Direct|Indirect) leak of", lines[i]):
                f = first_interesting(frames(lines, i + 1))
                owners.add(owner_of(f))
                where = where or f
        return ("hdf5" if owners == {"hdf5"} else "tessera"), "leak", describe(where)
    stack = frames(lines, start + 1)
    crash = first_interesting(stack)
    owner = owner_of(crash)
    if owner is None:  # e.g. out-of-memory (rss) has no stack
        return "tessera", kind, "(no stack)"
    beyond = re.search(r"is located (\d+) bytes to the (?:right|left) of", text)
    wild = beyond is not None and int(beyond.group(1)) > 0
    if owner == "hdf5" and not wild:
        for i in range(start + 1, len(lines)):
            if lines[i].startswith("SUMMARY:"):
                break
            if STACK_HEADS.search(lines[i]) and owner_of(first_interesting(frames(lines, i + 1))) == "tessera":
                return "tessera", kind, describe(first_interesting(frames(lines, i + 1)))
    where = describe(crash)
    if owner == "hdf5" and not crash[0]:  # name the first HDF5 function that has a symbol
        named = [f for f, loc in stack[stack.index(crash):] if f and "libhdf5" in loc]
        if named:
            where += f", called from {named[0]}"
    return owner, kind, where


def main():
    with open(sys.argv[1], errors="replace") as f:
        owner, kind, where = classify(f.read())
    print(f"{owner}\t{kind}\t{where}")


if __name__ == "__main__":
    main()
