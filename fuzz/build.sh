#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/targets/ with -sanitize=fuzzer,address, outside the package build.
#
# Modules are compiled straight with swiftc/clang into fuzz/.build/: CYaml and Yams (from the package's
# checkout), CairnGit, the CairnKit sources the parsers need, then one executable per target.
# Usage: fuzz/build.sh [target…]   (default: every fuzz/targets/*.swift)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
SWIFT_BIN="${SWIFT_BIN:-$(dirname "$(command -v swiftc 2>/dev/null || echo /opt/swift/usr/bin/swiftc)")}"
SWIFTC="$SWIFT_BIN/swiftc"
CLANG="$SWIFT_BIN/clang"
out="$here/.build"
mkdir -p "$out/obj" "$out/modules" "$out/bin" "$out/lib"

yams="$root/.build/checkouts/Yams/Sources"
if [ ! -d "$yams" ]; then
  (cd "$root" && "$SWIFT_BIN/swift" package resolve >/dev/null)
fi

SAN=(-sanitize=fuzzer,address)
CSAN=(-fsanitize=fuzzer-no-link,address)
# Quieter link: gold warns about ASan's local symbols.
QUIET='Cannot export local symbol|^$'

newer() { # newer OUTPUT INPUT… : true when OUTPUT is missing or older than an input
  local o="$1"; shift
  [ -e "$o" ] || return 0
  for i in "$@"; do [ "$i" -nt "$o" ] && return 0; done
  return 1
}

# CYaml (C)
for c in "$yams"/CYaml/src/*.c; do
  o="$out/obj/cyaml-$(basename "$c" .c).o"
  newer "$o" "$c" && "$CLANG" -O1 -g "${CSAN[@]}" -DYAML_DECLARE_EXPORT -I "$yams/CYaml/include" -c "$c" -o "$o"
done

# Yams (Swift)
yams_src=("$yams"/Yams/*.swift)
if newer "$out/lib/libYams.a" "${yams_src[@]}"; then
  rm -f "$out/lib/libYams.a"
  mkdir -p "$out/lib"
  "$SWIFTC" -O "${SAN[@]}" -parse-as-library -DSWIFT_PACKAGE -module-name Yams -I "$yams/CYaml/include" \
    -emit-library -static -emit-module -emit-module-path "$out/modules/Yams.swiftmodule" \
    -o "$out/lib/libYams.a" "${yams_src[@]}" 2>&1 | grep -Ev "$QUIET" || true
fi
[ -f "$out/lib/libYams.a" ] || { echo "error: Yams did not build" >&2; exit 1; }

# The C helper targets (linked into every binary that uses CairnGit or CairnKit), each with a module map for swiftc.
for target in CGit2Helpers CSystemCalls; do
  dir="$root/Sources/$target"
  for c in "$dir"/*.c; do
    o="$out/obj/csupport-$target-$(basename "$c" .c).o"
    newer "$o" "$c" && "$CLANG" -O1 -g "${CSAN[@]}" -I "$dir/include" $(pkg-config --cflags libgit2) -c "$c" -o "$o"
  done
  mkdir -p "$out/modules/$target"
  printf 'module %s {\n    header "%s"\n    export *\n}\n' "$target" "$dir/include/$target.h" > "$out/modules/$target/module.modulemap"
done

# CHTTP (C: the model client's HTTP through libcurl, loaded on first use), with a module map.
chttp="$root/Sources/CHTTP"
o="$out/obj/chttp-http_curl.o"
newer "$o" "$chttp/http_curl.c" && "$CLANG" -O1 -g "${CSAN[@]}" -I "$chttp/include" -c "$chttp/http_curl.c" -o "$o"
mkdir -p "$out/modules/CHTTP"
printf 'module CHTTP {\n    header "%s"\n    export *\n}\n' "$chttp/include/CHTTP.h" > "$out/modules/CHTTP/module.modulemap"

# CairnGit (Swift over libgit2)
git_src=("$root"/Sources/CairnGit/*.swift)
if newer "$out/lib/libCairnGit.a" "${git_src[@]}"; then
  rm -f "$out/lib/libCairnGit.a"
  "$SWIFTC" -O "${SAN[@]}" -parse-as-library -module-name CairnGit -I "$root/Sources/CGit2" -I "$out/modules/CGit2Helpers" -I "$out/modules/CSystemCalls" \
    -emit-library -static -emit-module -emit-module-path "$out/modules/CairnGit.swiftmodule" \
    -o "$out/lib/libCairnGit.a" "${git_src[@]}" 2>&1 | grep -Ev "$QUIET" || true
fi
[ -f "$out/lib/libCairnGit.a" ] || { echo "error: CairnGit did not build" >&2; exit 1; }

# CairnKit: every source that needs neither GRDB nor the search index (the parsers under test and what they use).
kit_src=()
while IFS= read -r f; do kit_src+=("$f"); done < <(cd "$root" && grep -L "import GRDB" Sources/CairnKit/*/*.swift | grep -v "^Sources/CairnKit/Search/" | sed "s|^|$root/|")
kit_src+=("$root/Sources/CairnKit/Search/SearchQuery.swift" "$root/Sources/CairnKit/Search/SearchError.swift"
         "$root/Sources/CairnKit/Search/SearchTypes.swift" "$here/stubs/SearchStubs.swift")
if newer "$out/lib/libCairnKit.a" "${kit_src[@]}"; then
  rm -f "$out/lib/libCairnKit.a"
  "$SWIFTC" -O "${SAN[@]}" -parse-as-library -module-name CairnKit -enable-testing \
    -I "$out/modules" -I "$root/Sources/CGit2" -I "$out/modules/CGit2Helpers" -I "$out/modules/CSystemCalls" -I "$out/modules/CHTTP" -I "$yams/CYaml/include" \
    -emit-library -static -emit-module -emit-module-path "$out/modules/CairnKit.swiftmodule" \
    -o "$out/lib/libCairnKit.a" "${kit_src[@]}" 2>&1 | grep -Ev "$QUIET" || true
fi
[ -f "$out/lib/libCairnKit.a" ] || { echo "error: CairnKit did not build" >&2; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "$here"/targets/*.swift; do targets+=("$(basename "$t" .swift)"); done
fi
for t in "${targets[@]}"; do
  src="$here/targets/$t.swift"
  bin="$out/bin/$t"
  if newer "$bin" "$src" "$out/lib/libCairnKit.a"; then
    echo "building $t"
    rm -f "$bin"
    "$SWIFTC" -O "${SAN[@]}" -parse-as-library -module-name "${t//-/_}" \
      -I "$out/modules" -I "$root/Sources/CGit2" -I "$out/modules/CGit2Helpers" -I "$out/modules/CSystemCalls" -I "$out/modules/CHTTP" -I "$yams/CYaml/include" \
      "$src" "$out/lib/libCairnKit.a" "$out/lib/libCairnGit.a" "$out/lib/libYams.a" "$out"/obj/cyaml-*.o "$out"/obj/csupport-*.o \
      "$out"/obj/chttp-*.o \
      -lgit2 -lz -o "$bin" 2>&1 | grep -Ev "$QUIET" || true
    [ -x "$bin" ] || { echo "error: $t did not build" >&2; exit 1; }
  fi
done
