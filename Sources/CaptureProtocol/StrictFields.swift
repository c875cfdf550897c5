// Request bodies refuse fields they do not know, naming the ones they do.

/// The coding keys of a request body that refuses unknown fields (``refuseUnknownFields(in:)``).
protocol StrictFields: CodingKey, CaseIterable {}

extension StrictFields {
    /// The field's name on the wire (snake_case).
    var wireName: String {
        stringValue.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }

    /// Throws `DecodingError.dataCorrupted` naming the first field of `decoder`'s object that is not one of
    /// these keys, and listing the allowed ones.
    static func refuseUnknownFields(in decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(allCases.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [unknown],
                    debugDescription:
                        "unknown field `\(unknown.stringValue)`; allowed: \(allCases.map(\.wireName).joined(separator: ", "))"
                ))
        }
    }
}

/// Any key of a JSON object, to list them all.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
