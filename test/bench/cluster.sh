# cluster.sh: a private, throwaway PostgreSQL 15 for benchmarks (sourced by graph_bench.sh).
#
# The extension directories of the system installation are shared with other
# people who reinstall correlate while a long benchmark runs, so the benchmark
# copies the PostgreSQL installation (binaries, pgRouting, PostGIS) into its own
# prefix, installs this tree's correlate there with DESTDIR, and runs a cluster
# from that copy: PostgreSQL finds its share and lib directories relative to the
# binary, so nothing outside the prefix is read or written.
#
#   bench_cluster_setup DIR PORT   copy, install, initdb, start (sets PGHOST, PGPORT, PGUSER, BENCH_PG)
#   bench_cluster_stop             stop the server (DIR is removed unless KEEP=1)
#
# BENCH_SRC names another source tree to build correlate from (default: this one).

PG_SYS_BIN=${PG_SYS_BIN:-/usr/lib/postgresql/15/bin}

bench_run_as_owner() {      # run a server binary as the unprivileged owner when we are root
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bench_cluster_setup() {
	local dir=$1 port=$2 src
	src=${BENCH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	BENCH_DIR=$dir
	BENCH_PG=$dir/usr/lib/postgresql/15/bin
	mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql"
	cp -a "$(dirname "$PG_SYS_BIN")" "$dir/usr/lib/postgresql/"
	cp -a "$($PG_SYS_BIN/pg_config --sharedir)" "$dir/usr/share/postgresql/"
	# A clean build from a copy of the tree: PGXS does not track header
	# dependencies, so objects left in the tree may be stale.
	mkdir -p "$dir/build"
	tar -C "$src" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./test/bench/out -cf - . | tar -C "$dir/build" -xf -
	make -s -C "$dir/build" PG_CONFIG=$PG_SYS_BIN/pg_config >/dev/null
	make -s -C "$dir/build" PG_CONFIG=$PG_SYS_BIN/pg_config install DESTDIR="$dir" >/dev/null
	if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$dir"; fi
	bench_run_as_owner "$BENCH_PG/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		port = $port
		unix_socket_directories = '$dir'
		shared_buffers = '2GB'
		work_mem = '256MB'
		maintenance_work_mem = '1GB'
		max_wal_size = '20GB'
		checkpoint_timeout = '30min'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_parallel_workers_per_gather = 0
		jit = off
		log_min_messages = warning
	EOF
	bench_run_as_owner "$BENCH_PG/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

bench_cluster_stop() {
	[ -n "${BENCH_DIR:-}" ] || return 0
	bench_run_as_owner "$BENCH_PG/pg_ctl" -D "$BENCH_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	if [ "${KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
	BENCH_DIR=
}
