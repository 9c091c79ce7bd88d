/* Kernel scratch memory: the allocator convgen_run installs into each kernel's Halide runtime.
 *
 * A kernel allocates its intermediate buffers (a padded or repacked input, a depthwise block, a
 * Winograd transform) with halide_malloc at every call and frees them before it returns. With
 * Halide's default (malloc), a buffer above glibc's mmap threshold, or one that leaves the top of
 * the heap past its trim threshold, goes back to the system at every free and comes back page by
 * page, zero-filled, at the next call. Whether that happens depends on what the process allocated
 * before: measured (Zen 3, 2 threads, convgen_bench on 40 random NCHW layers in one process), a
 * 200 -> 16 3x3 s2 conv on 35x35 n=7 ran 5279 us after the 37 layers before it and 1167 us alone.
 *
 * So freed blocks of SCRATCH_MIN_BYTES and more are kept (at most SCRATCH_SLOTS blocks and
 * SCRATCH_MAX_CACHED bytes; the oldest go back first) and handed to the next request they fit
 * without wasting more than half of themselves. Smaller requests go to the C library, which
 * serves them from its arenas. Every block is 64-byte aligned with 64 readable bytes before and
 * after it (Halide reads a little past a buffer's ends); the 64 bytes before hold its header,
 * whose last word is a tag no pointer has. A pointer without the tag came from the runtime's
 * allocator before ours was installed, and goes to the free function that ours replaced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { SCRATCH_ALIGN = 64, SCRATCH_MIN_BYTES = 32 * 1024, SCRATCH_SLOTS = 16 };
#define SCRATCH_MAX_CACHED ((size_t)256 << 20)
/* Not a canonical x86-64 or AArch64 user address (Halide's own allocator keeps a pointer there). */
#define SCRATCH_TAG UINT64_C(0xC0DE5C7A7C4B1E55)

typedef struct header {
    void *raw;       /* what posix_memalign returned */
    size_t capacity; /* usable bytes after the header */
    char pad[SCRATCH_ALIGN - 2 * sizeof(void *) - sizeof(uint64_t)];
    uint64_t tag; /* SCRATCH_TAG, just before the block */
} header;
_Static_assert(sizeof(header) == SCRATCH_ALIGN, "the header fills the alignment");

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_cached[SCRATCH_SLOTS]; /* free blocks, oldest first */
static int g_cached_count;
static size_t g_cached_bytes;
static _Atomic(convgen_halide_free) g_previous_free;

static header *header_of(void *ptr) { return (header *)ptr - 1; }

static atomic_uint g_blocks_made;

static void *new_block(size_t capacity) {
    /* Blocks of a page or more start at a page offset of their own (64 colours of 64 bytes), as
     * malloc's heap happens to place them: at one offset, two buffers a stage streams side by
     * side, index for index (a Winograd stage reads one tile array and writes the next), would
     * fall in the same L1 sets. A precaution: R1 and R3 ran as fast as with malloc (fastest of 8
     * alternating processes, Zen 3: 758 vs 691 us and 933 vs 929, within this VM's spread). */
    const size_t colour = capacity >= 4096 ? (atomic_fetch_add(&g_blocks_made, 1) * 23 % 64) * SCRATCH_ALIGN : 0;
    void *raw = NULL;
    if (posix_memalign(&raw, SCRATCH_ALIGN, colour + capacity + 2 * SCRATCH_ALIGN) != 0) return NULL;
    header *h = (header *)((char *)raw + colour);
    h->raw = raw;
    h->capacity = capacity;
    h->tag = SCRATCH_TAG;
    return h + 1;
}

/* Under g_lock: removes cached block i, keeping the others in age order. */
static void *take_cached(int i) {
    void *ptr = g_cached[i];
    memmove(&g_cached[i], &g_cached[i + 1], (size_t)(g_cached_count - i - 1) * sizeof(void *));
    g_cached_count--;
    g_cached_bytes -= header_of(ptr)->capacity;
    return ptr;
}

static void *scratch_malloc(void *user_context, size_t size) {
    (void)user_context;
    const size_t capacity = (size + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
    if (capacity < SCRATCH_MIN_BYTES) return new_block(capacity);
    void *ptr = NULL;
    pthread_mutex_lock(&g_lock);
    int best = -1;
    for (int i = 0; i < g_cached_count; i++) {
        const size_t c = header_of(g_cached[i])->capacity;
        if (c >= capacity && c / 2 <= capacity && (best < 0 || c < header_of(g_cached[best])->capacity)) best = i;
    }
    if (best >= 0) ptr = take_cached(best);
    pthread_mutex_unlock(&g_lock);
    return ptr != NULL ? ptr : new_block((capacity + 4095) / 4096 * 4096); /* whole pages */
}

static void scratch_free(void *user_context, void *ptr) {
    if (ptr == NULL) return;
    if (header_of(ptr)->tag != SCRATCH_TAG) {
        const convgen_halide_free previous = atomic_load(&g_previous_free);
        if (previous != NULL) previous(user_context, ptr);
        return;
    }
    const size_t capacity = header_of(ptr)->capacity;
    if (capacity < SCRATCH_MIN_BYTES || capacity > SCRATCH_MAX_CACHED) {
        free(header_of(ptr)->raw);
        return;
    }
    void *evicted[SCRATCH_SLOTS];
    int n_evicted = 0;
    pthread_mutex_lock(&g_lock);
    while (g_cached_count > 0 && (g_cached_count == SCRATCH_SLOTS || g_cached_bytes + capacity > SCRATCH_MAX_CACHED))
        evicted[n_evicted++] = take_cached(0);
    g_cached[g_cached_count++] = ptr;
    g_cached_bytes += capacity;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < n_evicted; i++) free(header_of(evicted[i])->raw);
}

void scratch_install(convgen_set_malloc_fn set_malloc, convgen_set_free_fn set_free) {
    if (set_malloc == NULL || set_free == NULL) return;
    /* Free first: from then on a block of the runtime's own allocator still goes to its free. */
    const convgen_halide_free previous = set_free(scratch_free);
    if (previous != scratch_free) {
        convgen_halide_free none = NULL;
        atomic_compare_exchange_strong(&g_previous_free, &none, previous);
    }
    set_malloc(scratch_malloc);
}

void convgen_release_scratch(void) {
    void *kept[SCRATCH_SLOTS];
    pthread_mutex_lock(&g_lock);
    const int n = g_cached_count;
    memcpy(kept, g_cached, (size_t)n * sizeof(void *));
    g_cached_count = 0;
    g_cached_bytes = 0;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < n; i++) free(header_of(kept[i])->raw);
}
