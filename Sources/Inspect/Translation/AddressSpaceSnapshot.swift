/// Page tables captured at one moment, by address space (`cpu`, `pid 3`):
/// what `snapshot NAME` keeps and `pt diff` compares.
public struct AddressSpaceSnapshot: Sendable {
    public var spaces: [String: AddressSpaceDump]

    public init(spaces: [String: AddressSpaceDump]) { self.spaces = spaces }

    /// One difference between two snapshots.
    public enum Change: Sendable, Equatable {
        /// An address space exists now that did not before (a new task).
        case appeared(space: String)
        /// An address space existed before and is gone (a reaped task).
        case disappeared(space: String)
        /// A mapping of an address space that exists in both changed.
        case mapping(space: String, AddressSpaceChange)

        public var space: String {
            switch self {
            case .appeared(let space), .disappeared(let space), .mapping(let space, _): return space
            }
        }
    }

    /// Every change from `old` to `self`, by address space name, then by address.
    public func changes(since old: AddressSpaceSnapshot) -> [Change] {
        var changes: [Change] = []
        for key in Set(old.spaces.keys).union(spaces.keys).sorted() {
            switch (old.spaces[key], spaces[key]) {
            case (nil, _?): changes.append(.appeared(space: key))
            case (_?, nil): changes.append(.disappeared(space: key))
            case (let before?, let after?): changes += after.changes(since: before).map { .mapping(space: key, $0) }
            case (nil, nil): break
            }
        }
        return changes
    }
}
