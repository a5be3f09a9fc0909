import AlzaCore

/// A failure the CLI reports as `Error: <message>` with exit status 1, without the usage text that
/// ArgumentParser adds to `ValidationError` (which is for malformed arguments).
struct CommandError: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) {
        description = message
    }

    init(_ error: any AlzaError) {
        description = error.description
    }
}
