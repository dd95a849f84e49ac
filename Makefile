# correlate: PGXS build.
#
# Sources, SQL and tests are discovered from the tree so adding a concern never
# means editing this file: every src/**/*.c is linked into correlate.so, every
# src/sql/NN_*.sql is concatenated (in name order) into the install script, every
# sql/*.sql is a regression test, every test/isolation/specs/*.spec an isolation test.

EXTENSION  = correlate
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" correlate.control)

MODULE_big = correlate
SRCS       = $(sort $(wildcard src/*.c src/*/*.c))
OBJS       = $(SRCS:.c=.o)
C_HEADERS = $(wildcard src/*.h src/*/*.h)

SQL_PARTS  = $(sort $(wildcard src/sql/[0-9]*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA       = $(wildcard src/sql/upgrade/$(EXTENSION)--*--*.sql) $(wildcard src/sql/released/$(EXTENSION)--*.sql)

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=. --load-extension=plpgsql
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output_iso
# pg_isolation_regress does not create its output folder, and a fresh clone has none.
$(shell mkdir -p test/isolation/output_iso)

PG_CPPFLAGS = -I$(srcdir)/src -DCORRELATE_VERSION=\"$(EXTVERSION)\"
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -ljson-c -lyaml -lm
EXTRA_CLEAN = test/isolation/output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) correlate.control
	@{ printf '%s\n' '-- Generated from src/sql/*.sql by make; edit those files, not this one.' \
	     '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	   for f in $(SQL_PARTS); do echo; echo "-- ==== $$f ===="; cat $$f; done; } > $@

# Shell and TAP tests under test/t (crash/restart, pg_cron, dump/restore).
.PHONY: check-shell
check-shell:
	bash test/run_all.sh

# PGXS does not track header dependencies; rebuild every object when any header changes
# (coarse, but a stale object built against an old struct layout can crash the server).
$(OBJS): $(C_HEADERS)

# Long runs of the reliability harnesses (docs/reliability.md), each on a throwaway cluster;
# the test command runs short versions.  Memory checking (test/mem/): the whole suite with an
# ASan+UBSan build of the extension; regression tests with the server under valgrind
# (VALGRIND_TESTS="..." to choose).  Crash atomicity with 20 SIGKILL rounds; the soak for 10 minutes;
# fuzzing for FUZZ_MINUTES (default 30).
.PHONY: asan-check valgrind-check crash-check soak-check fuzz-check
asan-check:
	test/mem/check.sh asan
valgrind-check:
	test/mem/check.sh valgrind
crash-check:
	pg_virtualenv -v 15 env CRASH_ROUNDS=20 CRASH_RECORDS=20000 bash test/t/crash_atomicity.sh
soak-check:
	pg_virtualenv -v 15 env SOAK_SECONDS=600 bash test/t/soak.sh
fuzz-check:
	pg_virtualenv -v 15 bash test/fuzz/run.sh --minutes $${FUZZ_MINUTES:-30}
