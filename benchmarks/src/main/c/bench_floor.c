/*
 * bench_floor: the physical floor of a frame-pointer walk, the same walk that unwinder's Java
 * walkers make over the same stack bytes, in C compiled by gcc -O2, called once per many walks so
 * that the cost of the downcall is spread thin.
 *
 * It makes the checks the seed's walk (Wasmtime's frame-pointer walker) makes and no others:
 * fp below the entry fp, fp aligned, the saved fp above fp. Like the seed it reads the link words
 * without a bounds check, which the Java walks must make; the floor is what the hardware costs
 * when nothing else is asked of it. Each frame's pc and fp are handed to an empty asm statement,
 * the C counterpart of JMH's compiler blackhole: the values must exist in registers, nothing is
 * stored.
 *
 * Addresses are those of the walked stack: byte i of `bytes` is at address `base + i`. For a stack
 * in this process's memory at its own addresses, `bytes` equals `base`; for a stack in a Java
 * array (passed through a critical downcall), `base` is the synthetic stack's own base.
 */
#include <stdint.h>
#include <string.h>

#define BENCH_API __attribute__((visibility("default"), noinline))

/* Where the links sit and how a valid fp looks; see dev.unwinder.api.Unwind. */
struct floor_layout {
    int64_t fp_offset;   /* the saved fp, from fp */
    int64_t pc_offset;   /* the return address, from fp */
    uint64_t align_mask; /* fp & align_mask must be 0 */
    uint64_t strip_mask; /* aarch64: the bits a return address keeps; 0 for none */
};

static inline __attribute__((always_inline)) uint64_t load(const unsigned char *at, int big) {
    uint64_t word;
    memcpy(&word, at, sizeof word);
    if (big) {
        word = __builtin_bswap64(word);
    }
    return word;
}

static inline __attribute__((always_inline)) uint64_t strip(uint64_t pc, uint64_t mask) {
    if (mask == 0) {
        return pc;
    }
    return (pc & (UINT64_C(1) << 55)) == 0 ? pc & mask : pc | ~mask;
}

/*
 * Walks `walks` times from (pc, fp) to the entry fp; returns the frames walked in all, or, at the
 * first failed check, -1 - the index of the frame that failed it.
 */
static inline __attribute__((always_inline)) int64_t walk(const unsigned char *bytes, uint64_t base,
        uint64_t pc0, uint64_t fp0, uint64_t entry_fp, const struct floor_layout *layout, int64_t walks, int big) {
    const uintptr_t origin = (uintptr_t)bytes - base; /* origin + address is that address's byte */
    const int64_t fp_offset = layout->fp_offset;
    const int64_t pc_offset = layout->pc_offset;
    const uint64_t align_mask = layout->align_mask;
    const uint64_t strip_mask = layout->strip_mask;
    int64_t total = 0;
    for (int64_t w = 0; w < walks; w++) {
        uint64_t pc = pc0;
        uint64_t fp = fp0;
        int64_t frames = 0;
        while (fp != entry_fp) {
            if (fp > entry_fp || (fp & align_mask) != 0) {
                return -1 - frames;
            }
            uint64_t next_fp = load((const unsigned char *)(origin + fp + fp_offset), big);
            uint64_t next_pc = strip(load((const unsigned char *)(origin + fp + pc_offset), big), strip_mask);
            if (next_fp <= fp) {
                return -1 - frames;
            }
            __asm__ volatile("" : : "r"(pc), "r"(fp));
            frames++;
            pc = next_pc;
            fp = next_fp;
        }
        total += frames;
    }
    return total;
}

/* The walk over little-endian words. */
BENCH_API int64_t bench_floor_walk_le(const unsigned char *bytes, uint64_t base, uint64_t pc, uint64_t fp,
        uint64_t entry_fp, const struct floor_layout *layout, int64_t walks) {
    return walk(bytes, base, pc, fp, entry_fp, layout, walks, 0);
}

/* The walk over big-endian words. */
BENCH_API int64_t bench_floor_walk_be(const unsigned char *bytes, uint64_t base, uint64_t pc, uint64_t fp,
        uint64_t entry_fp, const struct floor_layout *layout, int64_t walks) {
    return walk(bytes, base, pc, fp, entry_fp, layout, walks, 1);
}
