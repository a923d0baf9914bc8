import MmdbgCore
import Testing

@Suite("DAP framing: Content-Length headers, split and joined frames, bad headers")
struct DAPFramingTests {
    @Test func framesSplitAnywhereAndJoinedComeOutWhole() throws {
        let one = DAPFrameDecoder.frame(Array(#"{"seq":1}"#.utf8))
        let two = DAPFrameDecoder.frame(Array(#"{"seq":2,"x":"é"}"#.utf8))
        let stream = one + two
        for cut in 0...stream.count {
            var decoder = DAPFrameDecoder()
            var bodies: [String] = []
            decoder.append(stream[..<cut])
            while let body = try decoder.next() { bodies.append(String(decoding: body, as: UTF8.self)) }
            decoder.append(stream[cut...])
            while let body = try decoder.next() { bodies.append(String(decoding: body, as: UTF8.self)) }
            #expect(bodies == [#"{"seq":1}"#, #"{"seq":2,"x":"é"}"#], "cut at \(cut)")
        }
    }

    @Test func badHeadersAreOneLineProblems() {
        func problem(_ text: String) -> DAPFrameDecoder.Problem? {
            var decoder = DAPFrameDecoder()
            decoder.append(Array(text.utf8))
            do { _ = try decoder.next(); return nil } catch { return error }
        }
        #expect(problem("Content-Lenght 3\r\n\r\n") == .malformedHeader("Content-Lenght 3"))
        #expect(problem("Content-Type: x\r\n\r\n") == .missingContentLength)
        #expect(problem("Content-Length: -4\r\n\r\n") == .malformedHeader("Content-Length: -4"))
        #expect(problem("Content-Length: 999999999999\r\n\r\n") == .contentTooLong(999_999_999_999))
        #expect(problem(String(repeating: "x", count: DAPFrameDecoder.maximumHeader + 1)) == .headerTooLong)
        #expect(problem("content-length: 2\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n{}") == nil)
    }
}
