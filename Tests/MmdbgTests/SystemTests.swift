import Testing

/// Every suite that runs the real binary against QEMU, run one test at a
/// time: the machine has two cores and each test boots its own QEMU.
@Suite("mmdbg end to end (real binary, real QEMU)", .serialized)
enum SystemTests {}
