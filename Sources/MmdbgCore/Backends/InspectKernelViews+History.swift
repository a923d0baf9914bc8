import Inspect

/// The walk `pte-history` repeats while the recording replays.
extension InspectKernelViews {
    public func descriptorWalk(pid: Int?) throws(CommandError) -> DescriptorWalk {
        let context: TranslationContext
        if let pid {
            let task = try physically { () throws(CommandError) -> TaskInfo in try taskWithAddressSpace(pid) }
            context = try self.context().withLowerTable(task.mm.pgd)
        } else {
            context = try self.context()
        }
        // The root and the registers stay; the tables are read afresh at every call.
        return { [unowned self] address throws(CommandError) -> [WalkStep] in
            try physically { () throws(CommandError) -> [WalkStep] in
                let walker = TranslationTableWalker(memory: try memorySource(), context: context)
                return try walk { () throws(TranslationError) in try walker.translate(address) }.steps
            }
        }
    }
}
