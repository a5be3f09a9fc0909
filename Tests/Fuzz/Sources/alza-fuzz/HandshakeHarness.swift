import AlzaCore
import AlzaNetCore

// `handshake`: a HandshakeCore (the local side) fed the peer's frames.

let handshakeHarness = Harness(
    name: "handshake",
    summary: "HandshakeCore fed frames cut from the input, from scratch, after a valid hello, or once established",
    run: { input in
        var reader = ByteReader(input)
        let mode = reader.byte() % 3
        let frames = referenceFrames(reader.rest(), limit: 1 << 16).frames
        var core = HandshakeCore(local: Fixture.localHello, key: Fixture.localKey)
        check(core.openingFrame == Frame(kind: .hello, message: Fixture.localHello), "opening frame is not the hello")

        var received: Hello?
        var failed = false
        var established = false

        func feed(_ frame: Frame) {
            describe(frame.kind)
            let step = core.receive(frame)
            _ = "\(step)"
            if failed {
                check(step == .wait, "a failed handshake answered \(step)")
                return
            }
            switch step {
            case .send(let reply):
                check(frame.kind == .hello && received == nil, "sent \(reply.kind) in answer to \(frame.kind)")
                check(reply.kind == .proof, "answered a hello with \(reply.kind)")
                guard let hello = try? Hello(canonicalBytes: frame.payload),
                      let proof = try? HelloProof(canonicalBytes: reply.payload) else {
                    violation("answered an undecodable hello, or with an undecodable proof")
                }
                let digest = HelloProof.digest(chainId: Fixture.netChainId, peerNonce: hello.nonce,
                                               signer: Fixture.localKey.publicKey, verifier: hello.nodeKey)
                check(Fixture.localKey.publicKey.isValidSignature(proof.signature, for: digest), "proof does not verify")
                check(hello.chainId == Fixture.netChainId && hello.nodeKey != Fixture.localKey.publicKey,
                      "accepted a hello of another chain or of itself")
                received = hello
            case .wait:
                violation("a live handshake answered wait to \(frame.kind)")
            case .established(let hello):
                check(frame.kind == .proof && received == hello && !established, "established by \(frame.kind)")
                // Only the remote fixture key ever signed anything: nothing else can be authenticated.
                check(hello.nodeKey == Fixture.remoteKey.publicKey, "authenticated key \(hello.nodeKey) that signed nothing")
                check(core.isEstablished, "established step but isEstablished is false")
                established = true
            case .failed(let error):
                exercise(error)
                failed = true
                check(!core.isEstablished, "failed but isEstablished")
            }
        }

        if mode >= 1 { feed(Frame(kind: .hello, message: Fixture.remoteHello)) }
        if mode == 2 {
            feed(Frame(kind: .proof, message: Fixture.remoteProof))
            check(established, "the fixture proof did not establish the handshake")
        }
        for frame in frames { feed(frame) }
    },
    seeds: {
        let hello = Frame(kind: .hello, message: Fixture.remoteHello).bytes
        let proof = Frame(kind: .proof, message: Fixture.remoteProof).bytes
        var wrongChain = Fixture.remoteHello
        wrongChain.chainId = Hash.sha256(utf8: "another chain")
        var oldVersion = Fixture.remoteHello
        oldVersion.protocolVersion = 1
        return [
            [0] + hello + proof,                                             // the whole handshake
            [0] + hello + Frame(kind: .proof, payload: [UInt8](repeating: 0, count: 64)).bytes,
            [0] + Frame(kind: .hello, message: wrongChain).bytes,
            [0] + Frame(kind: .hello, message: oldVersion).bytes,
            [0] + Frame(kind: .hello, message: Fixture.localHello).bytes,    // itself
            [0] + Frame(kind: .gossip, payload: [1, 0]).bytes,               // garbage first
            [0] + Frame(kind: .hello, payload: Array(Fixture.remoteHello.canonicalBytes.dropLast(3))).bytes,
            [1] + proof,
            [1] + hello,
            [2] + Frame(kind: .ping, payload: []).bytes,
        ]
    })
