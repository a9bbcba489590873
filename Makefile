# SPDX-License-Identifier: GPL-2.0
#
# make            build the kernel modules, userspace programs and tests
# make check      host unit tests, then the selftests in a VM
# make demo       the module in a VM with a simulated QKD link
# make lint       checkpatch --strict and sparse on kernel/
#
# The kernel build dir comes from the newest installed Debian kernel headers,
# never from `uname -r`: the build host may run another kernel.

KDIR ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)
KVER ?= $(notdir $(patsubst %/build,%,$(KDIR)))
export KDIR KVER

BUILD := $(CURDIR)/build
CC ?= cc
USER_CFLAGS := -std=c11 -Wall -Wextra -Werror=implicit-function-declaration -O2 -g

.PHONY: all modules userspace selftests check demo lint clean bench help kdir-check

all: modules userspace selftests

kdir-check:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
	  echo "error: no kernel build dir; run scripts/deps (linux-headers-amd64) or pass KDIR=" >&2; exit 1; }

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	@true

selftests:
	$(MAKE) -C selftests all

check: all
	scripts/check

demo: all
	scripts/demo

bench: all
	scripts/bench-keys

lint: kdir-check
	scripts/lint

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)

help:
	@sed -n '3,7p' Makefile | sed 's/^# //'
