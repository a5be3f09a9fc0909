import AlzaCore
import AlzaLedger

/// Why a block was refused by consensus rules (the ledger's reasons arrive wrapped in `.ledger`).
public enum ConsensusError: AlzaError, Equatable {
    case wrongParent(expected: Hash, actual: Hash)
    case wrongHeight(expected: UInt64, actual: UInt64)
    case slotNotAfterParent(parentSlot: UInt64, slot: UInt64)
    case wrongTimestamp(expected: UInt64, actual: UInt64)
    case fromTheFuture(slot: UInt64, currentSlot: UInt64)
    case wrongProducer(slot: UInt64, expected: Address?, actual: Address)
    case unknownProducer(Address)
    case producerNotActive(Address, ProducerInfo.Status)
    case badBlockSignature(producer: Address)
    case wrongFieldRoot(expected: Hash, actual: Hash)
    case coinbaseMismatch(String)
    case ledger(LedgerError)

    public var code: String {
        switch self {
        case .wrongParent: "block.wrong-parent"
        case .wrongHeight: "block.wrong-height"
        case .slotNotAfterParent: "block.slot-not-after-parent"
        case .wrongTimestamp: "block.wrong-timestamp"
        case .fromTheFuture: "block.from-the-future"
        case .wrongProducer: "block.wrong-producer"
        case .unknownProducer: "block.unknown-producer"
        case .producerNotActive: "block.producer-not-active"
        case .badBlockSignature: "block.bad-signature"
        case .wrongFieldRoot: "block.wrong-field-root"
        case .coinbaseMismatch: "block.coinbase-mismatch"
        case .ledger(let error): error.code
        }
    }

    public var description: String {
        switch self {
        case .wrongParent(let expected, let actual): "block's parent is \(actual.short), expected \(expected.short)"
        case .wrongHeight(let expected, let actual): "block height is \(actual), expected \(expected)"
        case .slotNotAfterParent(let parentSlot, let slot): "block slot \(slot) is not after its parent's slot \(parentSlot)"
        case .wrongTimestamp(let expected, let actual): "block timestamp is \(actual), the slot starts at \(expected)"
        case .fromTheFuture(let slot, let currentSlot): "block is for slot \(slot), but the current slot is \(currentSlot)"
        case .wrongProducer(let slot, let expected, let actual):
            "slot \(slot) belongs to \(expected?.short ?? "nobody"), but \(actual.short) produced the block"
        case .unknownProducer(let address): "block producer \(address.short) is not a registered producer"
        case .producerNotActive(let address, let status): "block producer \(address.short) is \(status)"
        case .badBlockSignature(let producer): "block signature does not verify under \(producer.short)'s signing key"
        case .wrongFieldRoot(let expected, let actual): "field root is \(actual.short), expected \(expected.short)"
        case .coinbaseMismatch(let reason): "coinbase mismatch: \(reason)"
        case .ledger(let error): error.description
        }
    }
}
