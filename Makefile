# Makefile: every C build of noisylab. build.sh calls it; make keeps second runs fast.
#   make native   release core + native engine driver (-O3, widest vectors of this CPU)
#   make wasm     build/wasm/noisylab-simd.wasm and noisylab-scalar.wasm
#   make ctest    native C tests under ASan+UBSan, then run them
#   make fuzz     libFuzzer harnesses (clang), then a short run of each
# Files are found by wildcard: a new core/*.c, tests/c/test_*.c or tests/fuzz/fuzz_*.c
# needs no edit here.

CC      ?= gcc
EMCC    ?= emcc
CLANG   ?= clang
WARN    := -std=c11 -Wall -Wextra
CFLAGS_REL  := $(WARN) -O3 -march=native
CFLAGS_SAN  := $(WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CORE_SRC := $(sort $(wildcard core/*.c))
CORE_HDR := $(wildcard core/*.h)
API_SRC  := $(sort $(wildcard wasm/*.c))
API_HDR  := $(wildcard wasm/*.h)
CTESTS   := $(patsubst tests/c/%.c,build/test/%,$(sort $(wildcard tests/c/test_*.c)))
FUZZERS  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 10
CFLAGS_FUZZ := -std=c11 -g -O1 -fsanitize=address,undefined
REL_OBJ  := $(patsubst %.c,build/obj/rel/%.o,$(CORE_SRC) $(API_SRC))
SAN_OBJ  := $(patsubst %.c,build/obj/san/%.o,$(CORE_SRC) $(API_SRC))
FUZZ_OBJ := $(patsubst %.c,build/obj/fuzz/%.o,$(CORE_SRC))

# The exported functions of the one C API: one name per line in wasm/*.exports
EXPORT_FILES := $(wildcard wasm/*.exports)
EXPORTS := $(shell cat $(EXPORT_FILES) /dev/null | sed -e '/^$$/d' -e 's/^/_/' | paste -sd, -)
WASM_FLAGS := $(WARN) -O3 -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH \
              -sINITIAL_MEMORY=33554432 -sMAXIMUM_MEMORY=4GB -sTOTAL_STACK=1048576 \
              -sEXPORTED_FUNCTIONS=$(EXPORTS),_malloc,_free

.PHONY: all native wasm build-tests ctest fuzz clean
all: native wasm

native: build/native/nlrun build/native/libnl.a

build/native/libnl.a: $(REL_OBJ) | build/native
	@rm -f $@
	ar rcs $@ $^

build/native/nlrun: tools/nlrun.c build/native/libnl.a
	$(CC) $(CFLAGS_REL) -Icore -Iwasm $< build/native/libnl.a -lm -o $@

wasm: build/wasm/noisylab-simd.wasm build/wasm/noisylab-scalar.wasm

build/wasm/noisylab-simd.wasm: $(CORE_SRC) $(API_SRC) $(CORE_HDR) $(API_HDR) $(EXPORT_FILES) | build/wasm
	$(EMCC) $(WASM_FLAGS) -msimd128 -Icore $(CORE_SRC) $(API_SRC) -o $@

build/wasm/noisylab-scalar.wasm: $(CORE_SRC) $(API_SRC) $(CORE_HDR) $(API_HDR) $(EXPORT_FILES) | build/wasm
	$(EMCC) $(WASM_FLAGS) -Icore $(CORE_SRC) $(API_SRC) -o $@

# ---- object files: each source is compiled once per flavour (release, sanitizers, fuzzing),
# then linked into every program that needs it; any header change recompiles them all.
# Static pattern rules, so make keeps the objects (they are not intermediate files)
$(REL_OBJ): build/obj/rel/%.o: %.c $(CORE_HDR) $(API_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -Icore -Iwasm -c $< -o $@

$(SAN_OBJ): build/obj/san/%.o: %.c $(CORE_HDR) $(API_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) -Icore -Iwasm -c $< -o $@

$(FUZZ_OBJ): build/obj/fuzz/%.o: %.c $(CORE_HDR)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -Icore -c $< -o $@

# ---- tests under sanitizers
build/test/%: tests/c/%.c $(SAN_OBJ) tests/c/check.h | build/test
	$(CC) $(CFLAGS_SAN) -Icore -Iwasm -Itests/c $< $(SAN_OBJ) -lm -o $@

build-tests: $(CTESTS) $(FUZZERS)

ctest: $(CTESTS)
	@set -e; for t in $(CTESTS); do echo "== $$t"; ./$$t; done

# ---- fuzzing (clang + libFuzzer); each harness runs FUZZ_SECONDS on its seed corpus
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) | build/fuzz
	$(CLANG) $(CFLAGS_FUZZ) -fsanitize=fuzzer -Icore $< $(FUZZ_OBJ) -lm -o $@

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  ./$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 \
	    build/fuzz/corpus-$$n tests/fuzz/seeds/$$n 2>&1 | tail -n 2; done

build/native build/wasm build/test build/fuzz:
	@mkdir -p $@

clean:
	rm -rf build
