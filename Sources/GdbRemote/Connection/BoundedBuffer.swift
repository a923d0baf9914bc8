/// The newest `capacity` elements of an append-only stream, and how many older
/// ones were dropped: what a stub sends unasked (console output, stop replies)
/// must not be able to exhaust the client's memory. Trimming is amortised (the
/// storage may hold up to twice the capacity between trims), so appends stay O(1).
struct BoundedBuffer<Element> {
    /// Elements kept at most.
    let capacity: Int
    private var storage: [Element] = []
    private var trimmedCount = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The kept elements, oldest first.
    var elements: [Element] { Array(storage.suffix(capacity)) }
    /// Elements dropped so far to stay within `capacity`.
    var droppedCount: Int { trimmedCount + max(0, storage.count - capacity) }
    var isEmpty: Bool { storage.isEmpty }

    mutating func append(_ element: Element) {
        storage.append(element)
        if storage.count >= 2 * capacity { trim() }
    }

    mutating func append<C: Collection>(contentsOf elements: C) where C.Element == Element {
        storage.append(contentsOf: elements)
        if storage.count >= 2 * capacity { trim() }
    }

    /// Removes and returns the oldest kept element.
    mutating func popFirst() -> Element? {
        trim()
        return storage.isEmpty ? nil : storage.removeFirst()
    }

    /// Returns the kept elements and empties the buffer (the dropped count stays).
    mutating func take() -> [Element] {
        defer { trimmedCount = droppedCount; storage = [] }
        return elements
    }

    private mutating func trim() {
        let excess = storage.count - capacity
        guard excess > 0 else { return }
        storage.removeFirst(excess)
        trimmedCount += excess
    }
}
