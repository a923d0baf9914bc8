/* Offsets Swift cannot compute itself (see kernel_abi.h). */
#include "kernel_abi.h"
#include <stddef.h>

uint32_t mm_abi_offsetof_log_buf(void) { return (uint32_t)offsetof(struct mm_log_ring, buf); }
