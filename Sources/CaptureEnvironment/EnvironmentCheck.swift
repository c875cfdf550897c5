// Checks what a valid configuration needs from the machine: ffmpeg, the control group, writable folders, the device.

import CaptureCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Checks a loaded ``Configuration`` against this machine, as `audiocap check-config` does.
///
/// ``ConfigurationLoader`` checks the file alone; this looks at the system: the ffmpeg executable exists (a
/// PATH lookup) and runs (`ffmpeg -version`, unless ``runsFFmpeg`` is off), the control group exists, every
/// folder the daemon writes can be created and written (as the service user when that user exists and this
/// runs as root), and each ALSA source's device is there (only a warning: it may be plugged in later). Every
/// source is checked; a network source's URL is not (the stream may come up later) and is never shown with
/// its password. It leaves nothing behind.
public struct EnvironmentCheck: Sendable {
    /// One thing found: an error stops the configuration from running; a warning does not.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Severity: String, Sendable, Equatable {
            case error
            case warning
        }

        public var severity: Severity
        /// Dotted path of the key, e.g. `source.ffmpeg`, `source[1].device` (the second of several sources)
        /// or `recording[0].directory`.
        public var key: String
        /// The key's value as TOML would write it.
        public var value: String
        /// What is wrong and what to do about it.
        public var message: String
        /// The recording's or source's table by name, e.g. `[[recording]] "archive"` for a recording's key, or
        /// `[[source]] "cam"` for a key of one of several sources.
        public var table: String?
        /// The 1-based line of the key (or its table) in the file, when known.
        public var line: Int?

        public init(severity: Severity, key: String, value: String, message: String, table: String? = nil) {
            self.severity = severity
            self.key = key
            self.value = value
            self.message = message
            self.table = table
        }

        /// `key = value: message`, with the recording named by its table.
        public var description: String {
            var shownKey = key
            if let table, let dot = key.firstIndex(of: ".") {
                shownKey = table + " " + key[key.index(after: dot)...]
            }
            let text = "\(shownKey) = \(value): \(message)"
            return line.map { "line \($0): " + text } ?? text
        }
    }

    /// Whether to run `ffmpeg -version` (the daemon's own start skips it).
    public var runsFFmpeg: Bool
    /// How long `ffmpeg -version` may take.
    public var ffmpegTimeoutSeconds: Double
    /// The user the service runs as (`User=` of audiocapd.service); folders are checked for it when it
    /// exists and this process runs as root.
    public var serviceUser: String
    /// The search path for a bare ffmpeg name.
    public var searchPath: String
    /// Where ALSA's card ids are (`/proc/asound`).
    public var procRoot: String
    /// The ALSA capture devices to match the device against; nil asks ALSA through `askALSA`.
    public var alsaDevices: [String]?
    /// Lists ALSA's capture devices when `alsaDevices` is nil (the default asks libasound in this process);
    /// nil when they could not be listed, and the device is then not checked. The daemon asks a short-lived copy
    /// of itself (`ALSAProbe`), so that ALSA's plugins are not loaded into it for good.
    public var askALSA: @Sendable () -> [String]?

    public init(
        runsFFmpeg: Bool = true, ffmpegTimeoutSeconds: Double = 5, serviceUser: String = "audiocap",
        searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
        procRoot: String = "/proc/asound", alsaDevices: [String]? = nil,
        askALSA: @escaping @Sendable () -> [String]? = { ALSADevices.capture().map(\.name) }
    ) {
        self.runsFFmpeg = runsFFmpeg
        self.ffmpegTimeoutSeconds = ffmpegTimeoutSeconds
        self.serviceUser = serviceUser
        self.searchPath = searchPath
        self.procRoot = procRoot
        self.alsaDevices = alsaDevices
        self.askALSA = askALSA
    }

    /// Every error and warning for `configuration`, errors and warnings in the order of the file's tables.
    public func check(_ configuration: Configuration) -> [Finding] {
        var findings: [Finding] = []
        var checkedFFmpeg: Set<String> = []
        // ALSA's list, asked once for all sources and only when a source needs it.
        var listed: [String]?? = alsaDevices.map { .some($0) }
        for (index, source) in configuration.sources.enumerated() {
            // One source is `source.KEY` as it always was; several are told apart by index and name.
            let prefix = configuration.sources.count == 1 ? "source" : "source[\(index)]"
            let table = configuration.sources.count == 1 ? nil : "[[source]] " + Self.quote(source.name)
            if checkedFFmpeg.insert(source.ffmpeg).inserted {
                findings += checkFFmpeg(source.ffmpeg, key: prefix + ".ffmpeg", table: table)
            }
            findings += checkDevice(source, key: prefix + ".device", table: table, names: &listed)
            findings += checkSharedDevice(configuration.sources, index: index, key: prefix + ".device", table: table)
        }
        let user = serviceAccount()
        for (index, recording) in configuration.recordings.enumerated() {
            if let finding = checkDirectory(
                recording.directory, key: "recording[\(index)].directory", user: user,
                table: "[[recording]] " + Self.quote(recording.name))
            {
                findings.append(finding)
            }
        }
        if !configuration.control.socket.isEmpty {
            findings += checkGroup(configuration.control.group)
        }
        for (key, path) in [
            ("storage.root", configuration.storage.root), ("storage.state", configuration.storage.state),
        ] {
            if let finding = checkDirectory(path, key: key, user: user, table: nil) { findings.append(finding) }
        }
        return findings
    }

    // MARK: ffmpeg

    /// The executable `name` stands for: itself when it holds a `/`, else the first match in ``searchPath``.
    public func executablePath(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 && !Self.isDirectory(name) ? name : nil }
        for folder in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = String(folder.hasSuffix("/") ? folder + name : folder + "/" + name)
            if access(candidate, X_OK) == 0, !Self.isDirectory(candidate) { return candidate }
        }
        return nil
    }

    private func checkFFmpeg(_ ffmpeg: String, key: String, table: String?) -> [Finding] {
        let value = Self.quote(ffmpeg)
        guard let path = executablePath(ffmpeg) else {
            let where_ = ffmpeg.contains("/") ? "is not an executable file" : "is not found in PATH"
            return [
                Finding(
                    severity: .error, key: key, value: value,
                    message: "\(where_); install ffmpeg (apt install ffmpeg) or give the full path of the executable",
                    table: table)
            ]
        }
        guard runsFFmpeg else { return [] }
        if let failure = Self.runVersion(path, timeout: ffmpegTimeoutSeconds) {
            return [
                Finding(
                    severity: .error, key: key, value: value,
                    message:
                        "\(path) does not run: \(failure); check that it is ffmpeg and that its libraries are installed",
                    table: table)
            ]
        }
        return []
    }

    /// Runs `path -version`; nil when it exits 0 within `timeout` seconds, else what went wrong.
    private static func runVersion(_ path: String, timeout: Double) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-version"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            return "cannot start it (\(error.localizedDescription))"
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = exited.wait(timeout: .now() + 2)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return "`\(path) -version` did not finish within \(Int(timeout)) s"
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            return process.terminationReason == .exit
                ? "`\(path) -version` exited with status \(process.terminationStatus)"
                : "`\(path) -version` was killed by signal \(process.terminationStatus)"
        }
        return nil
    }

    // MARK: Control group

    /// A group named in the file must exist; the default group (`audiocap`) missing is only a warning, since
    /// the daemon then keeps its own group (installing the package creates it).
    private func checkGroup(_ group: String) -> [Finding] {
        guard getgrnam(group) == nil else { return [] }
        let isDefault = group == ControlConfiguration().group
        return [
            Finding(
                severity: isDefault ? .warning : .error, key: "control.group", value: Self.quote(group),
                message: "no such group; create it (groupadd --system \(group)) or name an existing group"
                    + (isDefault ? " (until then the socket keeps audiocapd's own group)" : ""))
        ]
    }

    // MARK: Folders

    /// The service user's uid and groups, when it exists and this process is root (otherwise folders are
    /// checked for this process).
    private func serviceAccount() -> (name: String, uid: uid_t, gids: [gid_t])? {
        guard geteuid() == 0, let entry = getpwnam(serviceUser) else { return nil }
        let uid = entry.pointee.pw_uid
        let primary = entry.pointee.pw_gid
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(serviceUser, primary, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(serviceUser, primary, &groups, &count)
        }
        return (serviceUser, uid, Array(groups.prefix(Int(max(0, count)))))
    }

    /// A problem with `path` as a folder the daemon creates and writes, or nil when it can.
    func checkDirectory(
        _ path: String, key: String, user: (name: String, uid: uid_t, gids: [gid_t])?, table: String?
    ) -> Finding? {
        func finding(_ message: String) -> Finding {
            Finding(severity: .error, key: key, value: Self.quote(path), message: message, table: table)
        }
        // The folder itself when it exists, else the nearest folder above it, where it would be created.
        var existing = path
        var statBuffer = stat()
        while stat(existing, &statBuffer) != 0 {
            guard errno == ENOENT || errno == ENOTDIR else {
                return finding("cannot be checked: \(String(cString: strerror(errno)))")
            }
            var parent = (existing as NSString).deletingLastPathComponent
            if parent.isEmpty { parent = "." }  // a relative path: relative to the working directory
            if parent == existing { return finding("no part of it exists") }
            existing = parent
        }
        guard statBuffer.st_mode & S_IFMT == S_IFDIR else {
            return finding(existing == path ? "is not a folder" : "cannot be created: \(existing) is not a folder")
        }
        let target = existing == path ? "is not writable" : "cannot be created in \(existing)"
        // A real probe: a folder made and removed at once, so read-only and virtual file systems show.
        var template = Array((existing.hasSuffix("/") ? existing : existing + "/").utf8CString.dropLast())
        template += Array(".audiocap-check-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let result = mkdtemp(buffer.baseAddress!) else { return nil }
            return String(cString: result)
        }
        guard let made else {
            return finding(
                "\(target): \(String(cString: strerror(errno))); choose another folder or fix its permissions")
        }
        rmdir(made)
        guard let user else { return nil }
        if !Self.allows(statBuffer, uid: user.uid, gids: user.gids) {
            let owner =
                getpwuid(statBuffer.st_uid).map { String(cString: $0.pointee.pw_name) } ?? String(statBuffer.st_uid)
            let group =
                getgrgid(statBuffer.st_gid).map { String(cString: $0.pointee.gr_name) } ?? String(statBuffer.st_gid)
            let mode = String(statBuffer.st_mode & 0o7777, radix: 8)
            return finding(
                "\(target) by the service user \(user.name) (\(existing) is owned by \(owner):\(group), mode \(mode)); "
                    + "run `chown \(user.name): \(existing)` or choose another folder")
        }
        return nil
    }

    /// Whether the owner, group or other write and search bits of `info` let `uid` with `gids` create files.
    public static func allows(_ info: stat, uid: uid_t, gids: [gid_t]) -> Bool {
        let mode = info.st_mode
        if uid == 0 { return true }
        if info.st_uid == uid { return mode & 0o300 == 0o300 }
        if gids.contains(info.st_gid) { return mode & 0o030 == 0o030 }
        return mode & 0o003 == 0o003
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    // MARK: Device

    /// Whether an ALSA source's device is there now; other inputs (lavfi, network streams) are not checked.
    private func checkDevice(
        _ source: SourceConfiguration, key: String, table: String?, names listed: inout [String]??
    ) -> [Finding] {
        guard source.inputFormat == "alsa", !source.isNetwork else { return [] }
        let device = source.device
        func warning(_ message: String) -> [Finding] {
            [
                Finding(
                    severity: .warning, key: key, value: Self.quote(CredentialMask.masked(device)), message: message,
                    table: table)
            ]
        }
        if device.hasPrefix("/") {
            return FileManager.default.fileExists(atPath: device)
                ? [] : warning("does not exist now; audiocapd waits for it: is the device plugged in?")
        }
        if listed == nil { listed = .some(askALSA()) }
        guard let names = listed ?? nil else { return [] }
        if names.contains(device) { return [] }
        if let card = Self.card(of: device) {
            let cards = Set(names.compactMap { Self.card(of: $0) })
            if cards.contains(card) { return [] }
            // A card number: /proc/asound/cardN exists while the card is there.
            if Int(card) != nil, FileManager.default.fileExists(atPath: "\(procRoot)/card\(card)") { return [] }
            if FileManager.default.fileExists(atPath: "\(procRoot)/\(card)") { return [] }
        } else if device == "default" || device.hasPrefix("default:") || device.hasPrefix("sysdefault") {
            if !names.isEmpty { return [] }
        }
        let shown = names.prefix(8).joined(separator: ", ")
        return warning(
            "no ALSA capture device by that name now (ALSA lists \(shown.isEmpty ? "none" : shown)); "
                + "audiocapd starts anyway and retries: plug it in, or list devices with `arecord -L`")
    }

    /// A warning when the ALSA source at `index` opens the same hardware device as an earlier source: a `hw`
    /// or `plughw` device has one capture at a time, so the second ffmpeg fails until the first lets go.
    private func checkSharedDevice(
        _ sources: [SourceConfiguration], index: Int, key: String, table: String?
    ) -> [Finding] {
        let source = sources[index]
        guard source.inputFormat == "alsa", source.device.hasPrefix("hw:") || source.device.hasPrefix("plughw:"),
            let first = sources[..<index].first(where: { $0.inputFormat == "alsa" && $0.device == source.device })
        else { return [] }
        return [
            Finding(
                severity: .warning, key: key, value: Self.quote(source.device),
                message: "is also the device of source \(Self.quote(first.name)), and a hw device captures for one "
                    + "program at a time; share it through an ALSA dsnoop device, or capture it once and record "
                    + "it twice from one source",
                table: table)
        ]
    }

    /// The card a `hw:`/`plughw:`-style name refers to: `1` for `hw:1,0`, `PCH` for `hw:CARD=PCH,DEV=0` or
    /// `plughw:PCH`; nil for other names.
    public static func card(of device: String) -> String? {
        guard let colon = device.firstIndex(of: ":") else { return nil }
        let kind = device[..<colon]
        guard ["hw", "plughw", "sysdefault", "dsnoop", "front"].contains(String(kind)) else { return nil }
        let arguments = device[device.index(after: colon)...].split(separator: ",")
        guard let first = arguments.first else { return nil }
        if first.hasPrefix("CARD=") { return String(first.dropFirst(5)) }
        if first.contains("=") { return nil }
        return String(first)
    }

    /// A TOML basic string for messages.
    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
