// The parent of every end-to-end suite: they run one at a time.
//
// Each runs real-time audio through PulseAudio, ffmpeg and audiocapd. Run side by side on a 2-core
// machine they starve the test microphone's feeder, which then inserts silence that no daemon could
// avoid; serialized, they are steady.
import Testing

@Suite(.serialized) struct EndToEnd {}
