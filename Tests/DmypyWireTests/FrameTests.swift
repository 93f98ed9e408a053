import Testing
@testable import DmypyWire

@Suite struct FrameTests {
    @Test func framesAreLengthPrefixedBigEndian() {
        #expect(Frame.encode([1, 2, 3]) == [0, 0, 0, 3, 1, 2, 3])
        #expect(Frame.encode(Array(repeating: 0, count: 0x0102)).prefix(4) == [0, 0, 1, 2])
    }

    @Test func decoderReassemblesFramesSplitAnywhere() throws {
        let frames: [JSONObject] = [["command": "status"], ["stdout": "x\n"], ["final": true, "out": "é"]]
        let stream = frames.flatMap { Frame.encode($0) }
        for chunk in [1, 2, 3, 5, 7, stream.count] {
            var decoder = FrameDecoder()
            var decoded: [JSONObject] = []
            var offset = 0
            while offset < stream.count {
                decoder.append(Array(stream[offset..<min(offset + chunk, stream.count)]))
                offset += chunk
                while let object = try decoder.nextObject() { decoded.append(object) }
            }
            #expect(decoded == frames)
            #expect(decoder.pendingByteCount == 0)
        }
    }

    @Test func oversizedHeaderIsRefusedBeforeBuffering() {
        var decoder = FrameDecoder(maximumSize: 1024)
        decoder.append([0xFF, 0xFF, 0xFF, 0xFF, 0x7B])
        #expect(throws: FrameError.tooLarge(size: 0xFFFF_FFFF, limit: 1024)) { try decoder.nextFrame() }
    }

    @Test func nonObjectsAndGarbageAreErrorsNotCrashes() {
        #expect(throws: FrameError.notAnObject) { try FrameDecoder.decodeObject(Array("[1, 2]".utf8)) }
        #expect(throws: FrameError.self) { try FrameDecoder.decodeObject([0xFF, 0xFE, 0x00]) }
    }
}
