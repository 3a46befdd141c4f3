# SPDX-License-Identifier: GPL-2.0
# espgate: out-of-tree build into $(BUILD). `make V=1` shows the commands.

BUILD    ?= build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= gcc
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS     := libbpf libxdp libmnl json-c sqlite3 libcrypto libsystemd libmicrohttpd
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
            -Ibpf -Iuser -Itools -I$(BUILD)/bpf $(shell pkg-config --cflags $(PKGS)) $(SAN)
LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lelf -lz -pthread
BPFFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
            -Ivmlinux -Ibpf

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:
.PHONY: all deps install test test-unit test-bpf test-e2e test-vm test-fuzz test-asan test-tsan fuzz demo bench vmlinux clean

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
LIB_SRCS   := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:%.c=$(BUILD)/%)
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(BPFT_SRCS:%.c=$(BUILD)/%)
TBPF_SRCS  := $(wildcard tests/bench/*.bpf.c)
TBPF_OBJS  := $(TBPF_SRCS:tests/bench/%.bpf.c=$(BUILD)/bench/%.bpf.o)
TSKELS     := $(TBPF_SRCS:tests/bench/%.bpf.c=$(BUILD)/bench/%.skel.h)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
VMT_SRCS   := $(wildcard tests/vm/*.c)
VMT_BINS   := $(VMT_SRCS:%.c=$(BUILD)/%)
TOOL_SRCS  := $(filter-out tools/ikeload.c,$(wildcard tools/*.c))
# libFuzzer harnesses: clang, ASan and UBSan, their own objects in $(BUILD)/fuzz
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/fuzz/%.o)
ASAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
FUZZ_S     ?= 60

all: $(BUILD)/ipsecd $(BUILD)/ipsecctl $(BUILD)/ikeload $(UNIT_BINS) $(BPFT_BINS) $(BENCH_BINS) \
     $(VMT_BINS)

deps:
	$(Q)tools/deps.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.h vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPFFLAGS) -c $< -o $@

$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPFFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c user/*.h bpf/espgate.h $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libeg.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/ipsecd: $(BUILD)/user/main.o $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/ipsecctl: $(TOOL_SRCS) tools/*.h user/*.h bpf/espgate.h $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itools $(TOOL_SRCS) $(BUILD)/libeg.a $(LDLIBS) -o $@

$(BUILD)/ikeload: tools/ikeload.c tools/ikeinit.h user/*.h $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libeg.a $(LDLIBS) -lm -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libeg.a $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(SKELS) $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libeg.a $(LDLIBS) -o $@

$(BUILD)/tests/vm/%: tests/vm/%.c $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libeg.a $(LDLIBS) -o $@

$(BUILD)/tests/bench/%: tests/bench/%.c $(SKELS) $(TSKELS) $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/bench $< $(BUILD)/libeg.a $(LDLIBS) -lm -o $@

$(BUILD)/fuzz/user/%.o: user/%.c user/*.h bpf/espgate.h $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CFLAGS) $(ASAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libeg.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/unit/ike_peer.h $(BUILD)/fuzz/libeg.a
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(CFLAGS) $(ASAN) -fsanitize=fuzzer -Itests/unit $< \
		$(BUILD)/fuzz/libeg.a $(LDLIBS) -o $@

$(BUILD)/fuzz/ike_seeds: tests/fuzz/ike_seeds.c tests/unit/ike_peer.h $(BUILD)/libeg.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(BUILD)/libeg.a $(LDLIBS) -o $@

# make fuzz FUZZ_S=60: each harness for FUZZ_S seconds from its seeds
fuzz: $(FUZZ_BINS) $(BUILD)/fuzz/ike_seeds
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_S) $(FUZZ_BINS)

test-fuzz:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_S=10

# the host suites again, everything built with ASan and UBSan (any report
# fails: UBSan does not recover, ASan aborts)
test-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN="$(ASAN)" \
		test-unit test-bpf test-e2e

# the IKE worker threads under ThreadSanitizer (gcc's; about 15 s)
test-tsan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan SAN="-fsanitize=thread" \
		$(BUILD)/tsan/tests/unit/test_ike_workers
	$(Q)TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/tests/unit/test_ike_workers

# make test: unit tests, BPF program tests and e2e on the host, the same
# built with ASan and UBSan, the workers under TSan, 10 s of each fuzzer,
# then the VM suite.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory test-unit test-bpf test-e2e test-asan test-tsan test-fuzz test-vm

test-unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

test-bpf: $(BPFT_BINS)
	$(Q)set -e; for t in $(BPFT_BINS); do echo "== $$t"; $$t; done

test-e2e: all
	$(Q)set -e; for t in tests/e2e/t_*.sh; do echo "== $$t"; $$t $(BUILD); done

test-vm: all
	$(Q)tests/vm/suite.sh $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(BUILD)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/bench/run.sh $(BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the systemd
# units (their paths set to PREFIX) and /etc/default/ipsecd unless one is
# there already
PREFIX  ?= /usr/local
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: all
	$(Q)install -D -m 0755 $(BUILD)/ipsecd $(DESTDIR)$(PREFIX)/sbin/ipsecd
	$(Q)install -D -m 0755 $(BUILD)/ipsecctl $(DESTDIR)$(PREFIX)/sbin/ipsecctl
	$(Q)install -D -m 0755 $(BUILD)/ikeload $(DESTDIR)$(PREFIX)/bin/ikeload
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)install -d $(DESTDIR)$(PREFIX)/share/espgate/www
	$(Q)install -m 0644 tools/www/index.html tools/www/ipsec.css tools/www/ipsec.js \
		$(DESTDIR)$(PREFIX)/share/espgate/www/
	$(Q)sed 's|/usr/local/|$(PREFIX)/|g' tools/systemd/ipsecd.service \
		>$(DESTDIR)$(UNITDIR)/ipsecd.service
	$(Q)install -m 0644 tools/systemd/ipsecd.socket $(DESTDIR)$(UNITDIR)/ipsecd.socket
	$(Q)[ -e $(DESTDIR)/etc/default/ipsecd ] || \
		install -D -m 0644 tools/systemd/ipsecd.default $(DESTDIR)/etc/default/ipsecd
	$(Q)echo "installed under $(DESTDIR)$(PREFIX) and $(DESTDIR)$(UNITDIR)"

clean:
	rm -rf $(BUILD)
