/// The version of this Alza build, printed by `alza version` and sent in the network handshake.
public enum AlzaVersion {
    public static let string = "0.1.0"
}
