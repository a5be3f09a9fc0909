/// Why a benchmark could not run (its output is not a figure then).
enum BenchError: Error, CustomStringConvertible {
    /// A tool run for comparison printed something unexpected.
    case toolOutput(String)
    /// The benchmark's setup (sockets, processes, a mesh) did not come up.
    case setup(String)
    /// A measured run did not do what it measures (a payment not receipted, a worker failed).
    case failed(String)

    var description: String {
        switch self {
        case .toolOutput(let text), .setup(let text), .failed(let text): text
        }
    }
}
