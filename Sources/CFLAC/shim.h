// The part of libFLAC that audiocapd uses: the stream encoder (FLAC segments) and the stream decoder
// (repairing a `.flac.partial` after a crash), and the Vorbis comment block of a new file.
#include <FLAC/stream_encoder.h>
#include <FLAC/stream_decoder.h>
#include <FLAC/metadata.h>
