import Testing
@testable import DmypyWire

/// Property test of the frame decoder and JSON parser on random and mutated input: whatever
/// arrives, decoding ends in a value or an error, never a crash or a hang. Bounded and seeded,
/// so every run checks the same cases; the checked-in corpus is replayed as well.
@Suite struct FrameFuzzTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let seeds: [[UInt8]] = [
        Array(#"{"command": "check", "files": ["a.py"], "is_tty": false, "terminal_width": 80}"#.utf8),
        Array(#"{"command": "run", "version": "2.4.1", "args": ["--strict", "."], "export_types": false}"#.utf8),
        Array(#"{"out": "a.py:1: error: x\n", "err": "", "status": 1, "final": true, "stats": {"t": 0.5}}"#.utf8),
        Array(#"[1, 2, {"a": "\ud83d\ude00"}]"#.utf8),
    ]

    @Test func randomAndMutatedFramesNeverCrash() {
        var rng = SplitMix(state: 20261128)
        for iteration in 0..<20_000 {
            var payload = FrameFuzzTests.seeds[iteration % FrameFuzzTests.seeds.count]
            let mutations = Int.random(in: 1...8, using: &rng)
            for _ in 0..<mutations {
                guard !payload.isEmpty else { break }
                let at = Int.random(in: 0..<payload.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: payload[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: payload.remove(at: at)
                case 2: payload.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                default: payload.insert(contentsOf: payload[at...].prefix(16), at: at)
                }
            }
            var stream = Frame.encode(payload)
            if iteration % 7 == 0 {
                // A lying header.
                stream[0] = UInt8.random(in: 0...255, using: &rng)
            }
            var decoder = FrameDecoder(maximumSize: 1 << 20)
            decoder.append(stream)
            _ = try? decoder.nextObject()
            _ = try? JSONParser.parse(payload)
        }
    }

    @Test func corpusReplays() throws {
        let corpus = MalformedFrameCorpus.cases
        #expect(corpus.count >= 10)
        for (name, bytes) in corpus {
            var decoder = FrameDecoder(maximumSize: 1 << 20)
            decoder.append(bytes)
            do {
                _ = try decoder.nextObject()
            } catch {
                continue   // an error is the right outcome for malformed input
            }
            Issue.record("corpus case \(name) decoded without error")
        }
    }
}

/// Malformed frames kept as regression cases (every one must be refused).
enum MalformedFrameCorpus {
    static let cases: [(String, [UInt8])] = [
        ("not json", Frame.encode(Array("hello".utf8))),
        ("array", Frame.encode(Array("[]".utf8))),
        ("string", Frame.encode(Array("\"command\"".utf8))),
        ("number", Frame.encode(Array("42".utf8))),
        ("truncated object", Frame.encode(Array("{\"command\": \"che".utf8))),
        ("trailing garbage", Frame.encode(Array("{} x".utf8))),
        ("invalid escape", Frame.encode(Array("{\"a\": \"\\q\"}".utf8))),
        ("raw control char", Frame.encode(Array("{\"a\": \"\u{01}\"}".utf8))),
        ("deep nesting", Frame.encode(Array((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8))),
        ("huge length", [0x7F, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D]),
        ("bare comma", Frame.encode(Array("{,}".utf8))),
        ("single quotes", Frame.encode(Array("{'command': 'status'}".utf8))),
    ]
}
