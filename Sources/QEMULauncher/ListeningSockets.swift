import Foundation

/// Which process owns a listening TCP socket, from /proc (no connection is
/// made: connecting to QEMU's gdbstub would count as the debugger's session).
enum ListeningSockets {
    /// The inodes of IPv4/IPv6 sockets listening on `port` (state 0A in /proc/net/tcp*).
    static func inodes(listeningOn port: Int) -> Set<String> {
        let hexPort = String(format: ":%04X", port)
        var found = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ")
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
                if columns.count > 9, columns[1].hasSuffix(hexPort), columns[3] == "0A" {
                    found.insert(String(columns[9]))
                }
            }
        }
        return found
    }

    /// The socket inodes among `pid`'s open file descriptors.
    static func socketInodes(ownedBy pid: Int32) -> Set<String> {
        let directory = "/proc/\(pid)/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var inodes = Set<String>()
        for entry in entries {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(entry)"),
                  target.hasPrefix("socket:["), target.hasSuffix("]") else { continue }
            inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
        return inodes
    }

    /// True when `pid` itself holds a socket listening on `port`.
    static func isListening(port: Int, pid: Int32) -> Bool {
        let listening = inodes(listeningOn: port)
        guard !listening.isEmpty else { return false }
        return !listening.isDisjoint(with: socketInodes(ownedBy: pid))
    }
}
