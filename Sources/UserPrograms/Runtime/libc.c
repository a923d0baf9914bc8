/*
 * libc.c — the runtime symbols Embedded Swift references (memset, memcpy,
 * memmove, memcmp, posix_memalign, free, putchar), provided by the program
 * itself. User programs never allocate: posix_memalign fails loudly.
 */
#include <stddef.h>
#include "include/user_runtime.h"

void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *dp = d; const unsigned char *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}
void *memmove(void *d, const void *s, size_t n) {
    unsigned char *dp = d; const unsigned char *sp = s;
    if (dp < sp) { while (n--) *dp++ = *sp++; }
    else { dp += n; sp += n; while (n--) *--dp = *--sp; }
    return d;
}
int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}
int posix_memalign(void **out, size_t align, size_t size) {
    (void)out; (void)align; (void)size;
    static const char msg[] = "[USER] posix_memalign: user programs do not allocate\n";
    mm_sys_write(1, msg, sizeof msg - 1);
    return 12; /* ENOMEM */
}
void free(void *p) { (void)p; }
int putchar(int c) { char b = (char)c; mm_sys_write(1, &b, 1); return c; }

/* One output line is assembled here and written with a single write(), so
 * lines of tasks that preempt each other never interleave mid-line. Each
 * task has its own copy (fork copies the data region). */
char user_line_buffer[USER_LINE_CAPACITY];
