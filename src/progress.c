/*
 * progress.c
 *		Progress of long work: a NOTICE at a bounded rate, and one row per
 *		running job in the correlate.progress view, readable from other sessions
 *		as pg_stat_progress_* views are.
 *
 * A backend runs at most one job at a time; a job begun inside another (a
 * rescore derives the attack graph first) is shown as a phase of the outer one
 * ("derive_attack_edges: deriving edges") with the inner job's counts, and the
 * outer job's row comes back when the inner one ends.  The job stack is local
 * memory; progress_end() pops it, and the end or abort of the (sub)transaction
 * that began a job pops it too, so an error or a cancel leaves no row behind.
 *
 * Visibility across backends needs shared memory, which PostgreSQL 15 gives an
 * extension only through shared_preload_libraries (shmem_request_hook and
 * shmem_startup_hook; there is no DSM registry before 17).  When correlate is
 * preloaded each backend owns the slot at MyBackendId - 1 of an array of
 * MaxBackends slots and is its only writer.  Writers never lock: like
 * PgBackendStatus, a slot carries a change count that the writer makes odd
 * before and even after each update, and a reader copies the slot until it
 * sees the same even count on both sides of the copy.  When correlate is not
 * preloaded, the view shows only the calling backend's own job (from local
 * memory) and NOTICEs work as usual.
 *
 * The view function filters rows as row level security filters the tables: a
 * session sees the jobs of its database in tenants it was granted in
 * correlate.tenant_access; superusers, BYPASSRLS roles and members of
 * correlate_admin see every tenant.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "correlate.h"
#include "progress.h"

#define PROGRESS_DEPTH	8		/* nested jobs kept; deeper ones are ignored */
#define SLOT_PHASE_MAX	(PROGRESS_COMMAND_MAX + 2 + PROGRESS_PHASE_MAX)

/* What the view shows of one backend's job. */
typedef struct ProgressSlot
{
	uint32		changecount;	/* odd while the owner writes */
	int			pid;			/* 0: no job */
	Oid			dbid;
	char		tenant[PROGRESS_TENANT_MAX + 1];
	char		command[PROGRESS_COMMAND_MAX + 1];
	char		phase[SLOT_PHASE_MAX + 1];
	char		unit[PROGRESS_UNIT_MAX + 1];
	int64		done;
	int64		total;			/* < 0: unknown */
	TimestampTz started;
	TimestampTz updated;
} ProgressSlot;

typedef struct ProgressJob
{
	char		command[PROGRESS_COMMAND_MAX + 1];
	char		phase[PROGRESS_PHASE_MAX + 1];
	char		unit[PROGRESS_UNIT_MAX + 1];
	int64		done;
	int64		total;
	TimestampTz started;
	SubTransactionId subid;		/* the subtransaction that began it */
} ProgressJob;

int			progress_notice_interval = 10;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProgressSlot *shared_slots = NULL;	/* MaxBackends slots, or NULL */
static bool exit_registered = false;

static ProgressJob jobs[PROGRESS_DEPTH];
static int	depth = 0;			/* jobs kept */
static int	overflow = 0;		/* jobs begun beyond PROGRESS_DEPTH */
static char job_tenant[PROGRESS_TENANT_MAX + 1];
static TimestampTz last_notice;
static ProgressSlot local_slot;	/* this backend's row, shared or not */

static Size
progress_shmem_size(void)
{
	return mul_size(MaxBackends, sizeof(ProgressSlot));
}

static void
progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(progress_shmem_size());
}

static void
progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared_slots = ShmemInitStruct("correlate progress", progress_shmem_size(), &found);
	if (!found)
		memset(shared_slots, 0, progress_shmem_size());
	LWLockRelease(AddinShmemInitLock);
}

/* This backend's shared slot, or NULL when correlate is not preloaded. */
static ProgressSlot *
own_slot(void)
{
	if (shared_slots == NULL || MyBackendId == InvalidBackendId || MyBackendId < 1 || MyBackendId > MaxBackends)
		return NULL;
	return &shared_slots[MyBackendId - 1];
}

/* Copies local_slot to the shared slot (all of it, or only the counters). */
static void
publish(bool counters_only)
{
	volatile ProgressSlot *s = own_slot();

	if (s == NULL)
		return;
	s->changecount++;
	pg_write_barrier();
	if (counters_only)
	{
		s->done = local_slot.done;
		s->updated = local_slot.updated;
	}
	else
	{
		uint32		cc = s->changecount;

		memcpy((ProgressSlot *) s, &local_slot, sizeof(ProgressSlot));
		s->changecount = cc;
	}
	pg_write_barrier();
	s->changecount++;
}

static void
clear_all(void)
{
	depth = 0;
	overflow = 0;
	memset(&local_slot, 0, sizeof(local_slot));
	publish(false);
}

static void
progress_shmem_exit(int code, Datum arg)
{
	clear_all();
}

/* Rebuilds local_slot from the job stack and publishes it. */
static void
refresh(TimestampTz now)
{
	ProgressJob *in = &jobs[depth - 1];

	local_slot.pid = MyProcPid;
	local_slot.dbid = MyDatabaseId;
	strlcpy(local_slot.tenant, job_tenant, sizeof(local_slot.tenant));
	strlcpy(local_slot.command, jobs[0].command, sizeof(local_slot.command));
	if (depth == 1)
		strlcpy(local_slot.phase, in->phase, sizeof(local_slot.phase));
	else if (in->phase[0] == '\0')
		strlcpy(local_slot.phase, in->command, sizeof(local_slot.phase));
	else
		snprintf(local_slot.phase, sizeof(local_slot.phase), "%s: %s", in->command, in->phase);
	strlcpy(local_slot.unit, in->unit, sizeof(local_slot.unit));
	local_slot.done = in->done;
	local_slot.total = in->total;
	local_slot.started = jobs[0].started;
	local_slot.updated = now;
	publish(false);
}

/* One NOTICE when the interval has passed since the job began or the last NOTICE. */
static void
maybe_notice(TimestampTz now)
{
	ProgressJob *in;
	double		secs;
	double		rate;
	StringInfoData msg;

	if (progress_notice_interval <= 0 ||
		now - last_notice < (int64) progress_notice_interval * USECS_PER_SEC)
		return;
	last_notice = now;
	in = &jobs[depth - 1];
	secs = (double) (now - in->started) / USECS_PER_SEC;
	rate = secs > 0 ? in->done / secs : 0;
	initStringInfo(&msg);
	appendStringInfo(&msg, "%s", local_slot.command);
	if (local_slot.phase[0] != '\0')
		appendStringInfo(&msg, ": %s", local_slot.phase);
	if (in->total >= 0)
		appendStringInfo(&msg, ", " INT64_FORMAT " of " INT64_FORMAT " %s (%.0f%%)", in->done, in->total, in->unit,
						 in->total > 0 ? 100.0 * in->done / in->total : 100.0);
	else
		appendStringInfo(&msg, ", " INT64_FORMAT " %s", in->done, in->unit);
	appendStringInfo(&msg, rate >= 100 ? ", %.0f %s/s" : rate >= 1 ? ", %.1f %s/s" : ", %.3f %s/s", rate, in->unit);
	/* a time left only from fine-grained counts: a few uneven steps say nothing of it */
	if (in->total >= 100 && rate > 0 && in->done < in->total)
		appendStringInfo(&msg, ", about %.0f s left", (in->total - in->done) / rate);
	ereport(NOTICE,
			(errmsg_internal("%s", msg.data),
			 errhidestmt(true)));
	pfree(msg.data);
}

/* The session's tenant as correlate.current_tenant() checks it (an error if not granted). */
static void
resolve_tenant(char *out)
{
	bool		isnull;
	Datum		d;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT correlate.current_tenant()", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read correlate.current_tenant()");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		out[0] = '\0';
	else
		text_to_cstring_buffer(DatumGetTextPP(d), out, PROGRESS_TENANT_MAX + 1);
	SPI_finish();
}

void
progress_begin(const char *command, const char *tenant, int64 total, const char *unit)
{
	ProgressJob *j;
	TimestampTz now;

	if (depth == 0)
	{
		char		t[PROGRESS_TENANT_MAX + 1];

		if (tenant)
			strlcpy(t, tenant, sizeof(t));
		else
			resolve_tenant(t);
		strlcpy(job_tenant, t, sizeof(job_tenant));
		if (own_slot() != NULL && !exit_registered)
		{
			before_shmem_exit(progress_shmem_exit, (Datum) 0);
			exit_registered = true;
		}
	}
	if (depth == PROGRESS_DEPTH)
	{
		overflow++;
		return;
	}
	now = GetCurrentTimestamp();
	j = &jobs[depth];
	memset(j, 0, sizeof(*j));
	strlcpy(j->command, command, sizeof(j->command));
	strlcpy(j->unit, unit ? unit : "", sizeof(j->unit));
	j->total = total < 0 ? -1 : total;
	j->started = now;
	j->subid = GetCurrentSubTransactionId();
	if (depth == 0)
		last_notice = now;
	depth++;
	refresh(now);
}

void
progress_phase(const char *phase)
{
	TimestampTz now;

	if (depth == 0 || overflow > 0)
		return;
	now = GetCurrentTimestamp();
	strlcpy(jobs[depth - 1].phase, phase ? phase : "", sizeof(jobs[depth - 1].phase));
	refresh(now);
	maybe_notice(now);
}

void
progress_advance(int64 done)
{
	TimestampTz now;

	if (depth == 0 || overflow > 0)
		return;
	now = GetCurrentTimestamp();
	jobs[depth - 1].done = done;
	local_slot.done = done;
	local_slot.updated = now;
	publish(true);
	maybe_notice(now);
}

/*
 * A per-row hook: the count is published on every call (a few stores), the clock
 * read for updated and the NOTICE only every PROGRESS_CLOCK_EVERY calls.
 */
#define PROGRESS_CLOCK_EVERY 64

void
progress_advance_by(const char *command, int64 n)
{
	static uint32 calls = 0;
	volatile ProgressSlot *s;

	if (depth == 0 || overflow > 0 || strcmp(jobs[depth - 1].command, command) != 0)
		return;
	if (++calls % PROGRESS_CLOCK_EVERY == 0)
	{
		progress_advance(jobs[depth - 1].done + n);
		return;
	}
	jobs[depth - 1].done += n;
	local_slot.done = jobs[depth - 1].done;
	if ((s = own_slot()) != NULL)
	{
		s->changecount++;
		pg_write_barrier();
		s->done = local_slot.done;
		pg_write_barrier();
		s->changecount++;
	}
}

void
progress_end(void)
{
	if (overflow > 0)
	{
		overflow--;
		return;
	}
	if (depth == 0)
		return;
	depth--;
	if (depth == 0)
		clear_all();
	else
		refresh(GetCurrentTimestamp());
}

/* Jobs end with their transaction; a subtransaction's abort ends the jobs it began. */
static void
progress_xact_callback(XactEvent event, void *arg)
{
	if (depth == 0 && overflow == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			clear_all();
			break;
		default:
			break;
	}
}

static void
progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			keep;

	if (event != SUBXACT_EVENT_ABORT_SUB || (depth == 0 && overflow == 0))
		return;
	keep = depth;
	while (keep > 0 && jobs[keep - 1].subid >= mySubid)
		keep--;
	overflow = 0;
	if (keep == depth)
		return;
	depth = keep;
	if (depth == 0)
		clear_all();
	else
		refresh(GetCurrentTimestamp());
}

/* GUC, shared memory hooks (when preloaded) and transaction callbacks; called once from _PG_init. */
void
progress_init(void)
{
	DefineCustomIntVariable("correlate.progress_notice_interval",
							"Least time between two progress NOTICEs of a long job (0: no NOTICE).",
							"Ingest of a file, detect, rescore and derive_attack_edges report their progress "
							"at most once per interval; the correlate.progress view shows it at any time.",
							&progress_notice_interval,
							10, 0, 86400,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	RegisterXactCallback(progress_xact_callback, NULL);
	RegisterSubXactCallback(progress_subxact_callback, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = progress_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = progress_shmem_startup;
	}
}

/* ---- SQL-callable ------------------------------------------------------- */

/* A text argument within max bytes; empty allowed only when allow_empty. */
static char *
arg_label(FunctionCallInfo fcinfo, int n, const char *name, int max, bool allow_empty)
{
	char	   *s;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("progress %s must not be NULL", name)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (!allow_empty && s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("progress %s must not be empty", name)));
	if (strlen(s) > (size_t) max)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("progress %s is too long", name),
				 errdetail("It has %zu bytes; at most %d are kept.", strlen(s), max)));
	return s;
}

static void
require_job(const char *fn)
{
	if (depth == 0 && overflow == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s: no progress job is running in this session", fn),
				 errhint("Call correlate._progress_begin() first, in the same transaction.")));
}

/* Checks done against the innermost job: not negative, not beyond a known total. */
static int64
arg_done(FunctionCallInfo fcinfo, int n)
{
	int64		done = PG_GETARG_INT64(n);

	if (done < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("progress done must not be negative"),
				 errdetail("done is " INT64_FORMAT ".", done)));
	if (overflow == 0 && depth > 0 && jobs[depth - 1].total >= 0 && done > jobs[depth - 1].total)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("progress done exceeds the job's total"),
				 errdetail("done is " INT64_FORMAT "; %s has a total of " INT64_FORMAT " %s.",
						   done, jobs[depth - 1].command, jobs[depth - 1].total, jobs[depth - 1].unit)));
	return done;
}

PG_FUNCTION_INFO_V1(correlate_progress_begin);
/* correlate._progress_begin(command text, total bigint, unit text) */
Datum
correlate_progress_begin(PG_FUNCTION_ARGS)
{
	char	   *command = arg_label(fcinfo, 0, "command", PROGRESS_COMMAND_MAX, false);
	char	   *unit = arg_label(fcinfo, 2, "unit", PROGRESS_UNIT_MAX, false);
	int64		total = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT64(1);

	if (!PG_ARGISNULL(1) && total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("progress total must not be negative"),
				 errdetail("total is " INT64_FORMAT ".", total),
				 errhint("Pass NULL when the total is not known.")));
	progress_begin(command, NULL, total, unit);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(correlate_progress_phase);
/* correlate._progress_phase(phase text, done bigint DEFAULT NULL) */
Datum
correlate_progress_phase(PG_FUNCTION_ARGS)
{
	char	   *phase = arg_label(fcinfo, 0, "phase", PROGRESS_PHASE_MAX, true);

	require_job("_progress_phase");
	if (!PG_ARGISNULL(1))
	{
		int64		done = arg_done(fcinfo, 1);

		if (depth > 0 && overflow == 0)
			jobs[depth - 1].done = done;
	}
	progress_phase(phase);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(correlate_progress_advance);
/* correlate._progress_advance(done bigint) */
Datum
correlate_progress_advance(PG_FUNCTION_ARGS)
{
	int64		done;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("progress done must not be NULL")));
	require_job("_progress_advance");
	done = arg_done(fcinfo, 0);
	progress_advance(done);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(correlate_progress_end);
/* correlate._progress_end() */
Datum
correlate_progress_end(PG_FUNCTION_ARGS)
{
	require_job("_progress_end");
	progress_end();
	PG_RETURN_VOID();
}

/* Tenants the current role was granted (row level security's notion of "may read"). */
static List *
granted_tenants(void)
{
	List	   *l = NIL;
	MemoryContext outer = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT DISTINCT a.tenant FROM correlate.tenant_access a "
					"WHERE pg_catalog.pg_has_role(CURRENT_USER, a.role, 'MEMBER')", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read correlate.tenant_access");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *t = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(outer);

		if (t)
			l = lappend(l, pstrdup(t));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return l;
}

static bool
sees_every_tenant(void)
{
	Oid			uid = GetUserId();
	Oid			admin = get_role_oid("correlate_admin", true);

	return superuser() || has_bypassrls_privilege(uid) || (OidIsValid(admin) && has_privs_of_role(uid, admin));
}

/* A consistent copy of a shared slot (the owner may be writing it). */
static void
read_slot(volatile ProgressSlot *s, ProgressSlot *out)
{
	for (;;)
	{
		uint32		before = s->changecount;
		uint32		after;

		pg_read_barrier();
		memcpy(out, (ProgressSlot *) s, sizeof(ProgressSlot));
		pg_read_barrier();
		after = s->changecount;
		if (before == after && (before & 1) == 0)
			break;
		CHECK_FOR_INTERRUPTS();
	}
}

PG_FUNCTION_INFO_V1(correlate_progress_rows);
/* correlate._progress_rows(): the rows of the correlate.progress view. */
Datum
correlate_progress_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProgressSlot *rows;
	int			n = 0;
	bool		all;
	List	   *tenants = NIL;

	InitMaterializedSRF(fcinfo, 0);
	if (shared_slots != NULL)
	{
		rows = palloc(sizeof(ProgressSlot) * MaxBackends);
		for (int i = 0; i < MaxBackends; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (shared_slots[i].pid == 0)
				continue;
			read_slot(&shared_slots[i], &rows[n]);
			if (rows[n].pid != 0 && rows[n].dbid == MyDatabaseId)
				n++;
		}
	}
	else
	{
		rows = palloc(sizeof(ProgressSlot));
		if (local_slot.pid != 0)
			rows[n++] = local_slot;
	}
	if (n == 0)
		return (Datum) 0;
	all = sees_every_tenant();
	if (!all)
		tenants = granted_tenants();
	for (int i = 0; i < n; i++)
	{
		ProgressSlot *r = &rows[i];
		Datum		v[9];
		bool		nulls[9] = {0};
		bool		visible = all;
		ListCell   *lc;

		foreach(lc, tenants)
			if (strcmp((char *) lfirst(lc), r->tenant) == 0)
				visible = true;
		if (!visible)
			continue;
		v[0] = Int32GetDatum(r->pid);
		v[1] = CStringGetTextDatum(r->tenant);
		v[2] = CStringGetTextDatum(r->command);
		v[3] = CStringGetTextDatum(r->phase);
		nulls[3] = r->phase[0] == '\0';
		v[4] = Int64GetDatum(r->done);
		v[5] = Int64GetDatum(r->total);
		nulls[5] = r->total < 0;
		v[6] = CStringGetTextDatum(r->unit);
		v[7] = TimestampTzGetDatum(r->started);
		v[8] = TimestampTzGetDatum(r->updated);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	return (Datum) 0;
}
