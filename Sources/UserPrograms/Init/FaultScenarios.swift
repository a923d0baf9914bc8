import UserRuntime

/// Scenarios that must end in exactly one `[KERN] <kind> at 0x…` line and a
/// killed child. Each returns 1 if it survives the faulting instruction.
enum FaultScenarios {
    /// A store into the 16 TiB heap–stack gap → `[KERN] invalid uva`.
    static func wildWrite() -> Int64 {
        user_store_u64(0xDEAD_BEEF_000, 1)
        return 1
    }

    /// Walks the stack down past STACK_LOW into the guard → `[KERN] stack overflow`.
    static func stackOverflow() -> Int64 {
        user_overflow_stack()
        return 1
    }

    /// A load from an unmapped page of the text region → `[KERN] text fault`.
    static func loadFromTextHole() -> Int64 {
        _ = user_load_u64(UInt64(MM_DATA_BASE) - UserMemory.pageSize)
        return 1
    }

    /// Writes a `ret` into a heap page and branches to it: heap is UXN →
    /// `[KERN] exec fault`.
    static func jumpIntoHeap() -> Int64 {
        let page = UserMemory.currentBreak
        guard UserMemory.setBreak(page + UserMemory.pageSize) else { return 2 }
        UserMemory.store(0xD65F_03C0_D65F_03C0, at: page)  // ret; ret
        user_jump_to(page)
        return 1
    }

    /// A store to the first text page, mapped read-only → `[KERN] perm fault`.
    static func storeToText() -> Int64 {
        user_store_u64(UInt64(MM_TEXT_BASE), 0)
        return 1
    }

    /// A load from the kernel's linear map (TTBR1, EL0 has no access) →
    /// `[KERN] perm fault`: user space cannot read kernel memory.
    static func loadFromKernel() -> Int64 {
        _ = user_load_u64(UInt64(MM_LINEAR_MAP_BASE) + UInt64(MM_KERNEL_LOAD_PA))
        return 1
    }

    /// `udf #0` → `[KERN] el0 sync fault ec=0x0`.
    static func undefinedInstruction() -> Int64 {
        user_undefined_instruction()
        return 1
    }

    /// A floating-point instruction while the kernel keeps FP/SIMD trapped
    /// (CPACR_EL1.FPEN = 0) → `[KERN] el0 sync fault ec=0x7`.
    static func floatingPointAccess() -> Int64 {
        user_floating_point_instruction()
        return 1
    }

    /// Reading an EL0 timer register the kernel does not open to EL0
    /// (CNTKCTL_EL1.EL0PTEN = 0) → `[KERN] el0 sync fault ec=0x18`.
    static func trappedSystemRegister() -> Int64 {
        user_read_physical_timer_control()
        return 1
    }

    /// A branch to a text address that is not 4-byte aligned →
    /// `[KERN] el0 sync fault ec=0x22`.
    static func misalignedProgramCounter() -> Int64 {
        user_jump_to(UInt64(MM_TEXT_BASE) + 2)
        return 1
    }
}
