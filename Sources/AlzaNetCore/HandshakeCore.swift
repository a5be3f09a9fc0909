import AlzaCore

/// The handshake of one connection as a pure state machine (DESIGN.md §8): each side sends `Hello` at once,
/// answers the other's `Hello` with a `HelloProof` signing the other's nonce, and is established when the
/// other's proof verifies under the key its `Hello` announced. Both sides are authenticated; a peer on another
/// chain, with another protocol version, or with a bad signature is refused.
public struct HandshakeCore: Sendable {
    public enum Step: Sendable, Equatable {
        /// Send this frame and keep going.
        case send(Frame)
        /// Nothing to do yet.
        case wait
        /// The peer is authenticated.
        case established(Hello)
        /// Send (optionally) a last frame, then close.
        case failed(NetworkError)
    }

    private enum State: Sendable {
        case awaitingHello
        case awaitingProof(Hello)
        case established(Hello)
        case failed
    }

    public let local: Hello
    private let key: SigningKey
    private var state: State = .awaitingHello

    public init(local: Hello, key: SigningKey) {
        precondition(local.nodeKey == key.publicKey, "hello must announce the signing key")
        self.local = local
        self.key = key
    }

    /// The frame to send first.
    public var openingFrame: Frame { Frame(kind: .hello, message: local) }

    public var isEstablished: Bool {
        if case .established = state { return true }
        return false
    }

    public mutating func receive(_ frame: Frame) -> Step {
        switch (state, frame.kind) {
        case (.awaitingHello, .hello):
            let hello: Hello
            do {
                hello = try Hello(canonicalBytes: frame.payload)
            } catch {
                return fail(.malformed(kind: .hello, reason: error.description))
            }
            guard hello.protocolVersion == local.protocolVersion else {
                return fail(.protocolMismatch(ours: local.protocolVersion, theirs: hello.protocolVersion))
            }
            guard hello.chainId == local.chainId else { return fail(.wrongChain(expected: local.chainId, actual: hello.chainId)) }
            guard hello.nodeKey != local.nodeKey else { return fail(.selfConnection) }
            guard hello.instances.node == hello.nodeKey, hello.instances.isValid(chainId: local.chainId) else {
                return fail(.invalidAnnouncement(peer: hello.nodeKey))
            }
            state = .awaitingProof(hello)
            let digest = HelloProof.digest(chainId: local.chainId, peerNonce: hello.nonce, signer: local.nodeKey,
                                           verifier: hello.nodeKey)
            return .send(Frame(kind: .proof, message: HelloProof(signature: key.sign(digest))))
        case (.awaitingProof(let hello), .proof):
            let proof: HelloProof
            do {
                proof = try HelloProof(canonicalBytes: frame.payload)
            } catch {
                return fail(.malformed(kind: .proof, reason: error.description))
            }
            let digest = HelloProof.digest(chainId: local.chainId, peerNonce: local.nonce, signer: hello.nodeKey,
                                           verifier: local.nodeKey)
            guard hello.nodeKey.isValidSignature(proof.signature, for: digest) else {
                return fail(.badHandshakeSignature(peer: hello.nodeKey))
            }
            state = .established(hello)
            return .established(hello)
        case (.failed, _):
            return .wait
        case (.established, _):
            return fail(.unexpectedFrame(frame.kind, during: "established connection (handshake frames are over)"))
        default:
            return fail(.unexpectedFrame(frame.kind, during: "handshake"))
        }
    }

    private mutating func fail(_ error: NetworkError) -> Step {
        state = .failed
        return .failed(error)
    }
}
