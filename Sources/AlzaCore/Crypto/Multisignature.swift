/// Signatures of several signers over one message: an ordered list of (signer index, signature), where the
/// index points into a signer list both sides know (the participants of a field, the members of a committee).
///
/// `verify` accepts only when every required signer signed the same digest: a missing required signer, an
/// index outside the signer list, a repeated or unordered index, or any invalid signature rejects the whole.
public struct Multisignature: Hashable, Sendable, CanonicalCodable {
    public struct Entry: Hashable, Sendable {
        public let signerIndex: UInt16
        public let signature: Signature

        public init(signerIndex: UInt16, signature: Signature) {
            self.signerIndex = signerIndex
            self.signature = signature
        }
    }

    /// Entries in strictly ascending `signerIndex` order: one canonical form per set of signatures.
    public let entries: [Entry]

    /// The most signers a multisignature may carry (the codec's collection limit).
    public static let maximumSigners = 1024

    public init(entries: [Entry]) throws(MultisignatureError) {
        guard entries.count <= Self.maximumSigners else { throw .tooManySigners(entries.count) }
        for (previous, next) in zip(entries, entries.dropFirst()) where previous.signerIndex >= next.signerIndex {
            throw .indicesNotAscending(previous: previous.signerIndex, next: next.signerIndex)
        }
        self.entries = entries
    }

    /// Signs `digest` with each `(index, key)`, sorted into canonical order.
    public static func sign(digest: Hash, signers: [(index: UInt16, key: SigningKey)]) throws(MultisignatureError)
        -> Multisignature
    {
        let sorted = signers.sorted { $0.index < $1.index }
        return try Multisignature(entries: sorted.map { Entry(signerIndex: $0.index, signature: $0.key.sign(digest)) })
    }

    public var signerIndices: [UInt16] { entries.map(\.signerIndex) }

    /// Which signers must have signed.
    public enum Requirement: Sendable, Equatable {
        /// Every key of the signer list.
        case all
        /// The listed indices (others may sign too, but their signatures must also be valid).
        case indices(Set<UInt16>)
        /// At least this many distinct signers.
        case atLeast(Int)
    }

    /// Throws unless every required signer of `signers` signed `digest` and every entry is valid.
    public func verify(digest: Hash, signers: [PublicKey], requirement: Requirement = .all) throws(MultisignatureError) {
        for entry in entries {
            guard Int(entry.signerIndex) < signers.count else {
                throw .signerIndexOutOfRange(index: entry.signerIndex, signerCount: signers.count)
            }
            guard signers[Int(entry.signerIndex)].isValidSignature(entry.signature, for: digest) else {
                throw .invalidSignature(signerIndex: entry.signerIndex)
            }
        }
        let present = Set(entries.map(\.signerIndex))
        switch requirement {
        case .all:
            if let missing = (0..<signers.count).first(where: { !present.contains(UInt16($0)) }) {
                throw .missingSigner(index: UInt16(missing))
            }
        case .indices(let required):
            if let missing = required.sorted().first(where: { !present.contains($0) }) {
                throw .missingSigner(index: missing)
            }
        case .atLeast(let count):
            guard present.count >= count else { throw .notEnoughSigners(required: count, present: present.count) }
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.encodeLength(entries.count)
        for entry in entries {
            encoder.encode(entry.signerIndex)
            encoder.encode(entry.signature)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(CodecError) {
        let start = decoder.offset
        let count = try decoder.decodeLength(limit: Self.maximumSigners, minimumElementSize: 66)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let index = try decoder.decode(UInt16.self)
            let signature = try decoder.decode(Signature.self)
            entries.append(Entry(signerIndex: index, signature: signature))
        }
        do {
            try self.init(entries: entries)
        } catch {
            throw decoder.invalid(error.description, at: start)
        }
    }
}

/// Why a multisignature was refused.
public enum MultisignatureError: AlzaError, Equatable {
    case tooManySigners(Int)
    case indicesNotAscending(previous: UInt16, next: UInt16)
    case signerIndexOutOfRange(index: UInt16, signerCount: Int)
    case invalidSignature(signerIndex: UInt16)
    case missingSigner(index: UInt16)
    case notEnoughSigners(required: Int, present: Int)

    public var code: String {
        switch self {
        case .tooManySigners: "multisig.too-many-signers"
        case .indicesNotAscending: "multisig.indices-not-ascending"
        case .signerIndexOutOfRange: "multisig.signer-index-out-of-range"
        case .invalidSignature: "multisig.invalid-signature"
        case .missingSigner: "multisig.missing-signer"
        case .notEnoughSigners: "multisig.not-enough-signers"
        }
    }

    public var description: String {
        switch self {
        case .tooManySigners(let count):
            "multisignature has \(count) entries; at most \(Multisignature.maximumSigners) are allowed"
        case .indicesNotAscending(let previous, let next):
            "multisignature signer indices must be strictly ascending, but \(next) follows \(previous)"
        case .signerIndexOutOfRange(let index, let signerCount):
            "multisignature names signer \(index) but only \(signerCount) signers exist"
        case .invalidSignature(let index): "signature of signer \(index) does not verify"
        case .missingSigner(let index): "required signer \(index) did not sign"
        case .notEnoughSigners(let required, let present):
            "\(present) signers signed where \(required) are required"
        }
    }
}
