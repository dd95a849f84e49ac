/*
 * Preloaded after the ASan runtime by test/mem/run.sh (written for this repo).
 *
 * The server is not built with ASan, so the runtime is preloaded and initialises lazily
 * on the first malloc.  Without this, that first malloc happens inside libp11-kit's
 * constructor (a dependency of gnutls, hence of libpq and the server), within glibc's
 * newlocale(); the runtime's start-up then calls dlerror() -> gettext with locale locks
 * held, and the process later hangs in bindtextdomain().  Linked with -z initfirst,
 * this constructor runs before every other one and initialises the runtime with no lock
 * held.
 */
#include <stdlib.h>

__attribute__((constructor)) static void
asan_init_first(void)
{
	free(malloc(1));
}
