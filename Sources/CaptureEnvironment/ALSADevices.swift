// Lists ALSA capture devices through libasound (like `arecord -L`).
import CALSA

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An ALSA PCM device that can capture.
public struct ALSADevice: Sendable, Equatable, Codable {
    public var name: String
    public var description: String
}

public enum ALSADevices {
    /// Capture-capable PCM names from ALSA's configuration (`snd_device_name_hint`), in ALSA's order.
    /// Honours `ALSA_CONFIG_PATH`. Empty when ALSA lists nothing.
    public static func capture() -> [ALSADevice] {
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>? = nil
        guard snd_device_name_hint(-1, "pcm", &hints) == 0, let hints else { return [] }
        defer { snd_device_name_free_hint(hints) }
        var devices: [ALSADevice] = []
        var cursor = hints
        while let hint = cursor.pointee {
            defer { cursor += 1 }
            let name = take(snd_device_name_get_hint(hint, "NAME"))
            let description = take(snd_device_name_get_hint(hint, "DESC"))
            let direction = take(snd_device_name_get_hint(hint, "IOID"))
            guard let name, direction == nil || direction == "Input" else { continue }
            let oneLine = (description ?? "").split(separator: "\n").joined(separator: ", ")
            devices.append(ALSADevice(name: name, description: oneLine))
        }
        return devices
    }

    /// Whether ALSA can open `name` for capture right now (opens it non-blocking and closes it at once).
    /// Returns nil when it can, else ALSA's error message.
    public static func openError(_ name: String) -> String? {
        var pcm: OpaquePointer? = nil
        let code = snd_pcm_open(&pcm, name, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK)
        if code < 0 { return String(cString: snd_strerror(code)) }
        snd_pcm_close(pcm)
        return nil
    }

    private static func take(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
