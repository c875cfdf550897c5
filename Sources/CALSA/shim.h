// The part of libasound that audiocapd uses: PCM device discovery (snd_device_name_hint) and opening.
#include <alsa/asoundlib.h>
