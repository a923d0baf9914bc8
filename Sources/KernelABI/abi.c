/* Offsets Swift cannot compute itself (see kernel_abi.h). */
#include "kernel_abi.h"
#include <stddef.h>

uint32_t mm_abi_offsetof_log_buf(void) { return (uint32_t)offsetof(struct mm_log_ring, buf); }

/* vectors.S reserves MM_TRAP_FRAME_SIZE bytes per exception entry. */
_Static_assert(sizeof(struct mm_trap_frame) == MM_TRAP_FRAME_SIZE, "vectors.S FRAME_SIZE");
_Static_assert(offsetof(struct mm_trap_frame, kind) == 272, "vectors.S stores kind, esr at 272");
