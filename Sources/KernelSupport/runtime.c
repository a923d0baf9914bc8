/*
 * Runtime symbols the Embedded Swift runtime references (memset, memcpy,
 * posix_memalign, free, putchar). The kernel provides them itself instead of
 * ignoring them at link time. Bare-metal only: on the host libc has them.
 */
#include "kernel_support.h"

#if MM_BARE_METAL
void *memset(void *d, int c, size_t n) {
    uint8_t *p = d;
    while (n--) *p++ = (uint8_t)c;
    return d;
}
void *memcpy(void *d, const void *s, size_t n) {
    uint8_t *dp = d; const uint8_t *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}
void *memmove(void *d, const void *s, size_t n) {
    uint8_t *dp = d; const uint8_t *sp = s;
    if (dp < sp) { while (n--) *dp++ = *sp++; }
    else { dp += n; sp += n; while (n--) *--dp = *--sp; }
    return d;
}
int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

/* A bump heap for the few runtime allocations Embedded Swift makes. The
 * kernel's own data structures never allocate; free() is therefore a no-op
 * and the heap's high-water mark is a debugger-visible global. */
#define MM_RUNTIME_HEAP_SIZE (256 * 1024)
static uint8_t mm_runtime_heap[MM_RUNTIME_HEAP_SIZE] __attribute__((aligned(16)));
uint64_t mm_runtime_heap_used;

int posix_memalign(void **out, size_t align, size_t size) {
    if (align < 16) align = 16;
    uint64_t start = (mm_runtime_heap_used + align - 1) & ~(uint64_t)(align - 1);
    if (start + size > MM_RUNTIME_HEAP_SIZE) return 12; /* ENOMEM */
    *out = &mm_runtime_heap[start];
    mm_runtime_heap_used = start + size;
    return 0;
}
void free(void *p) { (void)p; }
int putchar(int c) { mm_uart_putc((uint8_t)c); return c; }
#endif
