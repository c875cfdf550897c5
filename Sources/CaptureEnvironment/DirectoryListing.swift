// The files of a recording's folder tree, as the daemon (numbering, restart accounting) and the CLI
// (`audiocap segments`) both read them.
import Foundation

/// Lists the files under a folder, to a given depth. Blocking file I/O: call it from a thread made for
/// it, never from Swift's shared executor.
public enum DirectoryListing {
    /// Paths relative to `directory` of the regular files at most `depth` folders below it, sorted. A
    /// missing directory has none.
    public static func files(under directory: String, depth: Int) -> [String] {
        var found: [String] = []
        collect(directory: directory, prefix: "", depth: depth, into: &found)
        return found.sorted()
    }

    private static func collect(directory: String, prefix: String, depth: Int, into found: inout [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                if depth > 0 { collect(directory: path, prefix: prefix + name + "/", depth: depth - 1, into: &found) }
            } else {
                found.append(prefix + name)
            }
        }
    }
}
