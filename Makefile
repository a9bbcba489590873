# SPDX-License-Identifier: GPL-2.0
#
# make            build the kernel modules, userspace programs and tests
# make check      host unit tests, then the selftests in a VM
# make demo       the module in a VM with a simulated QKD link
# make lint       checkpatch --strict and sparse on kernel/
# make check-debug the selftests under a KASAN/lockdep/kmemleak/UBSAN kernel
# make check-rt   the selftests under Debian's PREEMPT_RT kernel
#
# The kernel build dir comes from the newest installed Debian kernel headers,
# never from `uname -r`: the build host may run another kernel.

KDIR ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | grep -v -- -rt- | sort -V | tail -n 1)
KVER ?= $(notdir $(patsubst %/build,%,$(KDIR)))


BUILD := $(CURDIR)/build
CC ?= cc
USER_CFLAGS := -std=c11 -Wall -Wextra -Werror=implicit-function-declaration -O2 -g

.PHONY: deps all modules userspace selftests host-tests check check-debug check-rt demo lint clean bench help kdir-check

all: modules userspace selftests host-tests

kdir-check:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
	  echo "error: no kernel build dir; run scripts/deps (linux-headers-amd64) or pass KDIR=" >&2; exit 1; }

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

USER_PROGS := $(BUILD)/agent/qkdctl

userspace: $(USER_PROGS)

QKDCTL_SRCS := $(sort $(wildcard agent/qkdctl*.c))

$(BUILD)/agent/qkdctl: $(QKDCTL_SRCS) $(wildcard agent/qkdctl*.h) uapi/linux/qkdkey.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuapi -o $@ $(QKDCTL_SRCS) -lmnl

# Host unit tests. The uapi header must also build alone as strict C11.
KSFT_INC = $(shell scripts/kernel-source tools/testing/selftests/kselftest_harness.h \
	     tools/testing/selftests/kselftest.h)/tools/testing/selftests
HOST_TESTS := $(BUILD)/host/uapi_test

host-tests: $(HOST_TESTS)

$(BUILD)/host/uapi-header.o: uapi/linux/qkdkey.h
	@mkdir -p $(dir $@)
	echo '#include <linux/qkdkey.h>' | \
	  $(CC) -std=c11 -Wall -Wextra -pedantic -Werror -Iuapi -x c -c -o $@ -

$(BUILD)/host/%: selftests/host/%.c uapi/linux/qkdkey.h $(BUILD)/host/uapi-header.o
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Wno-sign-compare -O2 -Iuapi -isystem $(KSFT_INC) -o $@ $<

selftests:
	$(MAKE) -C selftests all

# The agent library (wire codec, spool) and its host tests.
include agent/Makefile.inc
include agent/Makefile.spool.inc
include agent/Makefile.config.inc
include agent/Makefile.ingest.inc
include agent/Makefile.keysrc.inc
include agent/Makefile.agent.inc
include agent/Makefile.ledger.inc
include agent/Makefile.ledgerd.inc
include agent/Makefile.e2e.inc

# check and demo install their own dependencies (a no-op once present).
deps:
	scripts/deps

check: deps
	$(MAKE) all
	scripts/check

# Builds its own kernel (build/debug-kernel) and modules (build/debug-modules).
check-debug: deps
	scripts/check-debug

# Installs Debian's PREEMPT_RT kernel; modules in build/rt-modules.
check-rt: deps
	scripts/check-rt

demo: deps
	$(MAKE) all
	scripts/demo

bench: all
	scripts/bench-keys

lint: kdir-check
	scripts/lint

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)

help:
	@sed -n '3,9p' Makefile | sed 's/^# //'
