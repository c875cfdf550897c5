// The version both executables report.

/// The release version of audiocap, shown by `audiocap --version` and `audiocapd --version`.
public enum AudioCapVersion {
    public static let string = "0.1.0"
}
