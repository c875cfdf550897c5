// The JSON conventions of everything audiocap writes as JSON: snake_case keys, sorted; numbers and times per WireFormat.
import Foundation

extension ControlAPI {
    /// The one encoder for JSON audiocap writes: API bodies, `events.jsonl` lines, segment sidecars
    /// (`pretty`), `capture.json` and the CLI's `--json`. snake_case keys, sorted for stable output,
    /// slashes unescaped; a not-finite number becomes the string `"inf"`, `"-inf"` or `"nan"` (values
    /// that follow ``WireFormat`` are always finite).
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// The decoder for what ``encoder(pretty:)`` writes: snake_case keys, and `"inf"`, `"-inf"`, `"nan"`
    /// accepted for a number.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
