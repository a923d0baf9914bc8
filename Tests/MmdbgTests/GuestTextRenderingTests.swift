import Testing
@testable import MmdbgCore

/// Text that comes from guest memory (x/s strings, task names, log lines) is
/// rendered with its control characters escaped: no escape sequence reaches
/// the user's terminal, no fake line appears inside a table.
@Suite("Guest text cannot drive the terminal")
struct GuestTextRenderingTests {
    let renderer = TextRenderer(colour: false)

    @Test func controlCharactersInTextAndFieldsAreEscaped() {
        let hostile = "ok\u{1B}[2J\u{1B}]0;pwned\u{07}\u{9B}31m\u{7F}"
        #expect(renderer.render(block: .text(hostile)) == #"ok\x1b[2J\x1b]0;pwned\x07\x9b31m\x7f"#)
        #expect(renderer.render(block: .fields([("name", hostile)])) == #"name: ok\x1b[2J\x1b]0;pwned\x07\x9b31m\x7f"#)
    }

    @Test func lineBreaksAndTabsSurviveInTextButNotInTableCells() {
        #expect(renderer.render(block: .text("a\tb\nc\r\nd\re")) == "a\tb\nc\r\nd\\x0de")
        let table = TextTable(columns: [.init("PID", .right), .init("NAME")], rows: [["1", "init\nPID NAME\u{1B}"]])
        #expect(renderer.render(table: table) == "PID  NAME\n  1  init\\x0aPID NAME\\x1b")
    }

    @Test func ordinaryTextIsUnchanged() {
        let text = "0x0000000040200000 <_start_phys>:  0xd53800a1 ✓ äöü"
        #expect(renderer.render(block: .text(text)) == text)
    }

    @Test func anExaminedStringWithAnEscapeSequenceIsShownEscaped() throws {
        let output = CommandOutput(blocks: [.text("0x10: \"\u{1B}[31mred\"")], json: .null)
        #expect(!renderer.render(output).unicodeScalars.contains("\u{1B}"))
    }
}
