import Foundation

/// Which process owns a listening TCP socket, from /proc (no connection is
/// made: connecting to QEMU's gdbstub would count as the debugger's session).
enum ListeningSockets {
    /// The inodes of IPv4/IPv6 sockets listening on `port` (state 0A in /proc/net/tcp*).
    static func inodes(listeningOn port: Int) -> Set<String> {
        let hexPort = String(format: ":%04X", port)
        var found = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = ProcFile.text(table) else { continue }
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

    /// The inodes of Unix sockets bound to `path` that listen (__SO_ACCEPTCON,
    /// 0x10000, in the Flags column of /proc/net/unix). The socket file exists
    /// from bind(); a connect before listen() is refused.
    static func inodes(listeningAt path: String) -> Set<String> {
        guard let text = ProcFile.text("/proc/net/unix") else { return [] }
        var found = Set<String>()
        for line in text.split(separator: "\n").dropFirst() {
            // Num RefCount Protocol Flags Type St Inode Path (the path may hold spaces)
            let columns = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: true)
            guard columns.count == 8, columns[7] == path, let flags = UInt32(columns[3], radix: 16),
                  flags & 0x10000 != 0 else { continue }
            found.insert(String(columns[6]))
        }
        return found
    }

    /// True when `pid` itself holds a Unix socket listening at `path`.
    static func isListening(unixPath path: String, pid: Int32) -> Bool {
        let listening = inodes(listeningAt: path)
        guard !listening.isEmpty else { return false }
        return !listening.isDisjoint(with: socketInodes(ownedBy: pid))
    }

    /// True when `pid` itself holds a socket listening on `port`.
    static func isListening(port: Int, pid: Int32) -> Bool {
        let listening = inodes(listeningOn: port)
        guard !listening.isEmpty else { return false }
        return !listening.isDisjoint(with: socketInodes(ownedBy: pid))
    }
}
