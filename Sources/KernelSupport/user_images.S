/*
 * user_images.S — the EL0 program images, embedded in the kernel as they
 * were linked (scripts/build-kernel.sh builds them first and puts their
 * directory on the include path). The kernel's ELF loader reads them from
 * here; a debugger finds them by symbol (mm_user_image_init_start/_end).
 */
#if defined(__aarch64__) && !defined(__linux__) && !defined(__APPLE__)

    .section .user_programs, "a"
    .balign 16
    .global mm_user_image_init_start, mm_user_image_init_end
mm_user_image_init_start:
    .incbin "Init.elf"
mm_user_image_init_end:

#endif
