/// An error type that can carry a memory failure, so a scope around a walk
/// or a decode (`GdbMemorySource.withPhysicalMode`) can report its own
/// failure (entering or leaving physical mode) in the body's error type.
public protocol MemoryFailureCarrying: Error {
    static func memory(_ error: MemoryError) -> Self
}

extension TranslationError: MemoryFailureCarrying {}
extension KernelInspectionError: MemoryFailureCarrying {}

extension MemoryError: MemoryFailureCarrying {
    public static func memory(_ error: MemoryError) -> MemoryError { error }
}
