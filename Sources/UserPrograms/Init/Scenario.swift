/// One [TEST] scenario: init runs `body` in a forked child and compares how
/// the child ended with `expectation`.
struct Scenario {
    enum Expectation {
        /// The child returns 0 from `body` (a nonzero value names the failed step).
        case exitsWithZero
        /// The kernel kills the child for an EL0 fault (exit MM_EXIT_FAULT)
        /// and prints one `[KERN] <kind> at 0x…` line.
        case killedByFault
    }

    let name: StaticString
    let expectation: Expectation
    let body: () -> Int64
}

/// Every scenario, in the order a full run executes them (the first
/// `defaultCount`), then the SMP ones a full run leaves out (`tests=smp`
/// selects them). A switch, not an array: Embedded Swift arrays would allocate.
enum ScenarioTable {
    static let defaultCount = 19
    static let count = 23
    /// The SMP scenarios: indices defaultCount..<count.
    static let smpRange = 19..<23

    static func scenario(at index: Int) -> Scenario? {
        switch index {
        case 0: return Scenario(name: "brk", expectation: .exitsWithZero, body: MemoryScenarios.brkGrowShrinkRegrow)
        case 1: return Scenario(name: "fork", expectation: .exitsWithZero, body: TaskScenarios.forkPreservesMemory)
        case 2: return Scenario(name: "demand", expectation: .exitsWithZero, body: MemoryScenarios.heapAndStackDemandPaging)
        case 3: return Scenario(name: "wild", expectation: .killedByFault, body: FaultScenarios.wildWrite)
        case 4: return Scenario(name: "stackoverflow", expectation: .killedByFault, body: FaultScenarios.stackOverflow)
        case 5: return Scenario(name: "texthole", expectation: .killedByFault, body: FaultScenarios.loadFromTextHole)
        case 6: return Scenario(name: "heapexec", expectation: .killedByFault, body: FaultScenarios.jumpIntoHeap)
        case 7: return Scenario(name: "textstore", expectation: .killedByFault, body: FaultScenarios.storeToText)
        case 8: return Scenario(name: "undef", expectation: .killedByFault, body: FaultScenarios.undefinedInstruction)
        case 9: return Scenario(name: "misalignedpc", expectation: .killedByFault, body: FaultScenarios.misalignedProgramCounter)
        case 10: return Scenario(name: "fpsimd", expectation: .killedByFault, body: FaultScenarios.floatingPointAccess)
        case 11: return Scenario(name: "sysreg", expectation: .killedByFault, body: FaultScenarios.trappedSystemRegister)
        case 12: return Scenario(name: "wildsyscall", expectation: .exitsWithZero, body: MemoryScenarios.syscallWithWildPointer)
        case 13: return Scenario(name: "oom", expectation: .killedByFault, body: MemoryScenarios.exhaustMemory)
        case 14: return Scenario(name: "preempt", expectation: .exitsWithZero, body: TaskScenarios.tasksPreemptEachOther)
        case 15: return Scenario(name: "sleep", expectation: .exitsWithZero, body: TaskScenarios.sleepAndYield)
        case 16: return Scenario(name: "tablefull", expectation: .exitsWithZero, body: TaskScenarios.forkUntilTableIsFull)
        case 17: return Scenario(name: "oompool", expectation: .exitsWithZero, body: MemoryScenarios.exhaustThePool)
        case 18: return Scenario(name: "kernelread", expectation: .killedByFault, body: FaultScenarios.loadFromKernel)
        case 19: return Scenario(name: "forkstorm", expectation: .exitsWithZero, body: SMPScenarios.forkExitStorm)
        case 20: return Scenario(name: "brkstorm", expectation: .exitsWithZero, body: SMPScenarios.brkStorm)
        case 21: return Scenario(name: "oomstorm", expectation: .exitsWithZero, body: SMPScenarios.oomUnderContention)
        case 22: return Scenario(name: "fork1000", expectation: .exitsWithZero, body: SMPScenarios.thousandForks)
        default: return nil
        }
    }
}
