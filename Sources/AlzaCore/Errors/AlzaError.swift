/// The one error story of Alza.
///
/// Every module reports failures as its own `enum` of cases that carry the values involved (the offending length
/// and its limit, the expected and actual chain id, ...), and every such enum conforms to `AlzaError`:
/// - `description` is a sentence an operator can act on ("key file k.json is readable by other users (mode 0644);
///   run chmod 600 k.json"), used in logs and CLI output;
/// - `code` is a stable dotted identifier ("keyfile.insecure-permissions") for machines: HTTP API error bodies,
///   metrics labels, tests.
///
/// Decoders, verifiers and parsers never trap on bad input: they return one of these.
public protocol AlzaError: Error, CustomStringConvertible, Sendable {
    /// Stable machine-readable identifier, `module.reason`.
    var code: String { get }
}
