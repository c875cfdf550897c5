// Entry point of `audiocap`; the commands live in CaptureCommands.

import CaptureCommands

AudioCapCommand.main()
