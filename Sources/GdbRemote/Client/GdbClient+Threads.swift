extension GdbClient {
    /// Threads `threads()` accepts before calling the list hostile (QEMU: one per vCPU, at most a few hundred).
    static let maximumThreadCount = 65536

    /// Every thread the stub reports (`qfThreadInfo`, `qsThreadInfo`...). On QEMU, one per vCPU.
    public func threads() throws(GdbError) -> [ThreadID] {
        try locked { () throws(GdbError) -> [ThreadID] in
            var result: [ThreadID] = []
            var request = Packet.thread(.firstThreadInfo)
            for _ in 0..<4096 {
                let packet = request.description
                let reply = try checkReply(try connection.exchange(request, operation: "threads"),
                                           operation: "threads", packet: packet)
                let text = String(decoding: reply, as: UTF8.self)
                if text.hasPrefix("l") { return result }
                guard text.hasPrefix("m") else {
                    throw error(.malformedReply("thread list must start with m or l"), "threads", packet: packet)
                }
                for item in text.dropFirst().split(separator: ",") {
                    guard let id = ThreadID(parsing: item) else {
                        throw error(.malformedReply("bad thread id \(item)"), "threads", packet: packet)
                    }
                    guard result.count < GdbClient.maximumThreadCount else {
                        throw error(.malformedReply("more than \(GdbClient.maximumThreadCount) threads"), "threads", packet: packet)
                    }
                    result.append(id)
                }
                request = .thread(.nextThreadInfo)
            }
            throw error(.malformedReply("thread list never ended"), "threads", packet: request.description)
        }
    }

    /// The current thread (`qC`). QEMU always answers the first vCPU.
    public func currentThread() throws(GdbError) -> ThreadID {
        try locked { () throws(GdbError) -> ThreadID in
            let reply = try checkReply(try connection.exchange(.thread(.current), operation: "currentThread"),
                                       operation: "currentThread", packet: "qC")
            let text = String(decoding: reply, as: UTF8.self)
            guard text.hasPrefix("QC"), let id = ThreadID(parsing: text.dropFirst(2)) else {
                throw error(.malformedReply("expected QC<thread>"), "currentThread", packet: "qC")
            }
            return id
        }
    }

    /// Selects the thread later register/memory accesses (`.general`) or resumes (`.execution`) apply to.
    public func selectThread(_ thread: ThreadID, for selection: ThreadSelection = .general) throws(GdbError) {
        try locked { () throws(GdbError) in
            if selection == .general {
                invalidateStopCaches()  // cached values of "the current thread" belong to the old one
                try selectThreadLocked(thread, operation: "selectThread")
            } else {
                let packet = Packet.thread(.select(selection, thread, multiprocess: multiprocess))
                try expectOK(try connection.exchange(packet, operation: "selectThread"), operation: "selectThread", packet: packet.description)
            }
        }
    }

    func selectThreadLocked(_ thread: ThreadID, operation: String) throws(GdbError) {
        guard selectedGeneralThread != thread else { return }
        let packet = Packet.thread(.select(.general, thread, multiprocess: multiprocess))
        try expectOK(try connection.exchange(packet, operation: operation), operation: operation, packet: packet.description)
        selectedGeneralThread = thread
    }
}
