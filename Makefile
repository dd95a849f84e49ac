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
