// Running parts.
