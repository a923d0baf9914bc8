import Foundation
import GdbRemote

/// A scripted GDB stub on the far end of an in-memory transport, for the
/// protocol edge cases the real stub cannot be made to produce on demand.
/// It plays its steps in order on its own thread and records a transcript.
public final class ScriptedStub: @unchecked Sendable {
    /// One step of the script.
    public enum Step: Sendable {
        /// Waits for a packet whose body equals the text; acknowledges it with `+` if `ack`.
        case expect(String, ack: Bool = true)
        /// Waits for a packet whose body starts with the text.
        case expectPrefix(String, ack: Bool = true)
        /// Sends `$text#cs`.
        case reply(String)
        /// Sends bytes exactly as given (garbage, truncated packets, bad checksums).
        case raw([UInt8])
        /// Sends `-`.
        case nack
        /// Waits for the 0x03 interrupt byte.
        case expectInterrupt
        /// Waits for the client's `-` (it rejected a reply).
        case expectNack
        /// Pauses.
        case sleep(Double)
        /// Closes the connection.
        case disconnect
    }

    /// The client's end of the connection.
    public let clientTransport: InMemoryTransport
    private let stubTransport: InMemoryTransport
    private let script: [Step]
    private let lock = NSLock()
    private var log: [String] = []
    private var failures: [String] = []
    private let finished = DispatchSemaphore(value: 0)
    private var decoder = FrameDecoder()
    private var pendingFrames: [Frame] = []

    public init(_ script: [Step]) {
        (clientTransport, stubTransport) = InMemoryTransport.pair()
        self.script = script
    }

    /// The steps a `GdbClient` handshake needs: qSupported (with `features`), `vCont?`
    /// and the QEMU probe (answered as a non-QEMU stub would: empty).
    public static func handshake(features: String = "PacketSize=1000;vContSupported+") -> [Step] {
        [.expectPrefix("qSupported"), .reply(features), .expect("vCont?"), .reply("vCont;c;C;s;S"),
         .expect("qqemu.Supported"), .reply("")]
    }

    /// Starts playing the script on a background thread.
    public func start() {
        let thread = Thread { [self] in
            play()
            finished.signal()
        }
        thread.start()
    }

    /// Waits for the script to finish; returns the problems it saw (empty if it went as written).
    @discardableResult
    public func finish(timeout: Double = 5) -> [String] {
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            stubTransport.close()
            return problems + ["script did not finish within \(timeout)s"]
        }
        return problems
    }

    /// What the stub received ("-> ") and sent ("<- "), in order.
    public var transcript: [String] { lock.lock(); defer { lock.unlock() }; return log }
    public var problems: [String] { lock.lock(); defer { lock.unlock() }; return failures }

    private func note(_ line: String) { lock.lock(); log.append(line); lock.unlock() }
    private func fail(_ line: String) { lock.lock(); failures.append(line); lock.unlock() }

    private func play() {
        for step in script {
            switch step {
            case .expect(let body, let ack):
                guard let got = nextPacket() else { fail("expected \(body), connection ended"); return }
                if got != body { fail("expected \(body), got \(got)") }
                if ack { send([UInt8(ascii: "+")]) }
            case .expectPrefix(let prefix, let ack):
                guard let got = nextPacket() else { fail("expected \(prefix)..., connection ended"); return }
                if !got.hasPrefix(prefix) { fail("expected \(prefix)..., got \(got)") }
                if ack { send([UInt8(ascii: "+")]) }
            case .reply(let text):
                note("<- \(text)")
                send(PacketEncoder.packet(text))
            case .raw(let bytes):
                note("<- raw \(String(decoding: bytes, as: UTF8.self))")
                send(bytes)
            case .nack:
                note("<- -")
                send([UInt8(ascii: "-")])
            case .expectInterrupt:
                guard let frame = nextFrame(skippingAcks: true) else { fail("expected ^C, connection ended"); return }
                if frame != .interrupt { fail("expected ^C, got \(frame.text)") } else { note("-> ^C") }
            case .expectNack:
                guard let frame = nextFrame(skippingAcks: false, skippingPositiveAcks: true) else { fail("expected -, connection ended"); return }
                if frame != .nack { fail("expected -, got \(frame.text)") } else { note("-> -") }
            case .sleep(let seconds):
                Thread.sleep(forTimeInterval: seconds)
            case .disconnect:
                note("<- (disconnect)")
                stubTransport.close()
                return
            }
        }
    }

    private func send(_ bytes: [UInt8]) {
        do throws(TransportError) { try stubTransport.write(bytes, deadline: .after(seconds: 2)) } catch { fail("send failed: \(error)") }
    }

    private func nextPacket() -> String? {
        while let frame = nextFrame(skippingAcks: true) {
            if case .packet(let body, let valid) = frame {
                let text = String(decoding: body, as: UTF8.self)
                note("-> \(text)\(valid ? "" : " (bad checksum)")")
                return text
            }
            if frame == .interrupt { note("-> ^C (unexpected)") }
        }
        return nil
    }

    private func nextFrame(skippingAcks: Bool, skippingPositiveAcks: Bool = false) -> Frame? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            while !pendingFrames.isEmpty {
                let frame = pendingFrames.removeFirst()
                if skippingAcks, frame == .ack || frame == .nack { continue }
                if skippingPositiveAcks, frame == .ack { continue }
                return frame
            }
            let n: Int? = buffer.withUnsafeMutableBytes { raw in
                do throws(TransportError) { return try stubTransport.read(into: raw, deadline: .after(seconds: 5)) } catch { return nil }
            }
            guard let n else { return nil }
            pendingFrames += decoder.feed(buffer[0..<n])
        }
    }
}
