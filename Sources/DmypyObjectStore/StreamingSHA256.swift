import Crypto

/// SHA-256 over data that arrives in pieces, as lowercase hex.
struct StreamingSHA256 {
    private var hasher = SHA256()

    mutating func update(_ bytes: [UInt8]) { hasher.update(data: bytes) }

    func hexDigest() -> String { SigV4Signer.hex(hasher.finalize()) }
}
