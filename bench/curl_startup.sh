#!/bin/bash
# What loading libcurl at start-up costs every cairn command. FoundationNetworking, which the MCP SDK imports,
# links libcurl, so the release `cairn` loads libcurl.so.4 and the ~19 libraries it needs before main().
# Same binary, two runs: with the real libcurl, and with an empty stand-in libcurl.so.4 first on LD_LIBRARY_PATH
# that only defines the symbol version the binary asks for (curl functions are bound lazily, on first call, so
# commands that make no HTTP request run unchanged). Counts instructions (callgrind, on a stripped copy: valgrind
# 3.19 cannot read the DWARF 5 of the build) and CPU time (user + sys) over 200 runs of `--version` and `status`.
#
#   bench/curl_startup.sh .build/release/cairn
set -e
bin=$(realpath "${1:-.build/release/cairn}")
dir=$(mktemp -d /tmp/cairn-curl-startup.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export HOME=$dir/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$dir/home/gitconfig NO_COLOR=1
mkdir -p home stub && printf '[user]\n\tname = Bench\n\temail = bench@example.com\n' > home/gitconfig
version=$(nm -D --undefined-only "$bin" | sed -n 's/.*curl_[a-z_]*@\(CURL_[A-Z0-9_]*\).*/\1/p' | head -1)
printf 'void cairn_curl_stand_in(void) {}\n' > stub/s.c
printf '%s { global: cairn_curl_stand_in; local: *; };\n' "$version" > stub/v.map
gcc -shared -fPIC -o stub/libcurl.so.4 -Wl,--version-script=stub/v.map -Wl,-soname,libcurl.so.4 stub/s.c
strip -o cairn "$bin"
"$bin" init --example --name Bench --email bench@example.com v >/dev/null
(cd v && "$bin" status >/dev/null)  # the first status fills the stat cache; every measured one finds it warm
with() { "$@"; }
without() { LD_LIBRARY_PATH=$dir/stub "$@"; }
echo "libraries loaded: with $(ldd cairn | wc -l), without $(without ldd cairn | wc -l)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for how in with without; do
  for cmd in --version status; do
    ir=$(cd v && $how valgrind --tool=callgrind --callgrind-out-file=/dev/null ../cairn $cmd 2>&1 >/dev/null | awk '/Collected/{print $4}')
    echo "instructions, $how libcurl, cairn $cmd: $ir"
  done
done
for round in 1 2; do
  for how in with without; do
    for cmd in --version status; do
      /usr/bin/time -f "CPU of 200 runs, $how libcurl, cairn $cmd: %U s user + %S s sys (%e s wall)" \
        bash -c "cd v; for i in \$(seq 200); do $( [ $how = without ] && echo "LD_LIBRARY_PATH=$dir/stub" ) ../cairn $cmd >/dev/null; done"
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
