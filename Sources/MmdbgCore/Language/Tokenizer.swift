/// Splits one command line into tokens.
///
/// Rules (documented in README "Command language"):
/// - whitespace separates tokens; `#` at the start of a token begins a comment
///   that runs to the end of the line (scenario files rely on it);
/// - `"…"` and `'…'` quote; inside double quotes `\"`, `\\`, `\n`, `\t` are escapes;
/// - `--name` / `--name=value` are options; a lone `--` ends option parsing;
/// - `/fmt` (letters and digits after a slash) is a format suffix, also when
///   glued to the command name (`x/4g` → `x`, `/4g`); a count alone is one too
///   (`x/2` → `x`, `/2`, as in gdb).
public enum Tokenizer {
    /// The tokens of `line`, or a syntax error (unterminated quote).
    public static func tokenize(_ line: String) throws(CommandError) -> [Token] {
        var tokens: [Token] = []
        var chars = Array(line)[...]
        var optionsEnded = false
        while true {
            while let c = chars.first, c.isWhitespace { chars.removeFirst() }
            guard let first = chars.first else { break }
            if first == "#" { break }
            if first == "\"" || first == "'" {
                chars.removeFirst()
                tokens.append(.quoted(try readQuoted(&chars, quote: first)))
                continue
            }
            var word = ""
            while let c = chars.first, !c.isWhitespace {
                if c == "\"" || c == "'" {
                    // A quote glued to a word (`--msg="a b"`): the quoted part joins the word.
                    chars.removeFirst()
                    word += try readQuoted(&chars, quote: c)
                    continue
                }
                word.append(c)
                chars.removeFirst()
            }
            if word == "--" && !optionsEnded {
                optionsEnded = true
                continue
            }
            if !optionsEnded, word.hasPrefix("--"), word.count > 2 {
                let body = word.dropFirst(2)
                if let eq = body.firstIndex(of: "=") {
                    tokens.append(.option(name: String(body[..<eq]), value: String(body[body.index(after: eq)...])))
                } else {
                    tokens.append(.option(name: String(body), value: nil))
                }
                continue
            }
            if word.hasPrefix("/"), word.count > 1, isFormat(word.dropFirst()) {
                tokens.append(.format(String(word.dropFirst())))
                continue
            }
            // `x/4g` → word `x` + format `4g` (only for the first token: paths have slashes).
            if tokens.isEmpty, let slash = word.firstIndex(of: "/"), slash != word.startIndex,
               isFormat(word[word.index(after: slash)...]) {
                tokens.append(.word(String(word[..<slash])))
                tokens.append(.format(String(word[word.index(after: slash)...])))
                continue
            }
            tokens.append(.word(word))
        }
        return tokens
    }

    /// Letters and digits (`4g`, `s`, `2`): short, so a path such as `/tmp/a` never is one.
    private static func isFormat(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 8 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    private static func readQuoted(_ chars: inout ArraySlice<Character>, quote: Character) throws(CommandError) -> String {
        var out = ""
        while let c = chars.first {
            chars.removeFirst()
            if c == quote { return out }
            if c == "\\" && quote == "\"" {
                guard let next = chars.first else { break }
                chars.removeFirst()
                switch next {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(next)
                }
                continue
            }
            out.append(c)
        }
        throw .syntax("unterminated \(quote) quote")
    }
}
