/// What the stub sent that no request took: console output (`O` packets while the
/// target runs) and stop replies that arrived while no resume was pending. Both are
/// bounded (the newest kept, the rest counted): a stub must not be able to exhaust
/// the client's memory by talking unasked.
struct Inbox {
    /// Console output kept at most (the newest bytes).
    static let consoleCapacity = 1 << 20
    /// Unclaimed stop replies kept at most (the newest).
    static let stopCapacity = 256

    var console = BoundedBuffer<UInt8>(capacity: Inbox.consoleCapacity)
    var stops = BoundedBuffer<[UInt8]>(capacity: Inbox.stopCapacity)
}
